# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
Convert checkpoints trained with the widely used reference re-implementation of U2-Net (the one whose model
has `encode_modules`, `decode_modules`, `side_modules` and `out_conv`) to u2net-hf.

Its blocks match ours one for one, so conversion is a renaming: `conv_in` is `input_conv`, `bn` is `norm`, and
its inner `encode_modules`/`decode_modules` are our `encoder`/`decoder`. Only the side convolutions run the other
way: its `side_modules[0]` sits on the bottleneck (map d6) and `side_modules[5]` on the last decoder stage (d1),
while our `side_convs[0]` is d1. Its training script saves a dict holding the state dict under `"model"`; both
that and a plain state dict are accepted (see [`~u2net_hf.conversion.common.read_torch_state_dict`]).

Usage: `u2net-hf convert model_best.pth ./my-u2net`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

from ..configuration_u2net import U2NetConfig
from .common import (
    LAYOUT_DESCRIPTIONS,
    ConvertedCheckpoint,
    convert_torch_file,
    infer_state_dict_preset,
    is_step_counter,
    model_tensor_shapes,
)

LAYOUT = "reference"
DESCRIPTION = LAYOUT_DESCRIPTIONS[LAYOUT]
BLOCK_PARTS = {"input_conv": "conv_in", "encoder": "encode_modules", "decoder": "decode_modules"}
UNIT_PARTS = {"conv": "conv", "norm": "bn"}


def reference_name(name: str, num_sides: int) -> str:
    """The reference implementation's name for one of our tensor names."""
    parts = name.split(".")
    if parts[0] == "u2net":  # u2net.{encoder|decoder}.i.{input_conv|encoder.j|decoder.j}.{conv|norm}.tensor
        _, part, stage, role, *rest = parts
        block = f"{'encode' if part == 'encoder' else 'decode'}_modules.{stage}.{BLOCK_PARTS[role]}"
        *index, unit, tensor = rest
        return ".".join([block, *index, UNIT_PARTS[unit], tensor])
    if parts[0] == "side_convs":
        return f"side_modules.{num_sides - 1 - int(parts[1])}.{parts[2]}"
    return f"out_conv.{parts[1]}"  # fusion


def names(preset: str) -> dict[str, str]:
    """Our tensor names mapped to the reference implementation's, for a preset."""
    num_sides = U2NetConfig(preset=preset).num_side_outputs
    return {name: reference_name(name, num_sides) for name in model_tensor_shapes(preset)}


def expected_shapes(preset: str) -> dict[str, tuple[int, ...]]:
    """Every tensor a reference checkpoint of this preset holds, with its shape."""
    ours = model_tensor_shapes(preset)
    return {reference: ours[name] for name, reference in names(preset).items()}


def reference_to_state_dict(
    state_dict: Mapping[str, torch.Tensor], *, variant: str | None = None, source: str = "checkpoint"
) -> tuple[dict[str, torch.Tensor], str]:
    """
    Translate a reference-implementation state dict to the state dict of [`U2NetForImageSegmentation`].

    Args:
        state_dict (`Mapping[str, torch.Tensor]`):
            The reference tensors (`encode_modules.0.conv_in.conv.weight`, ...).
        variant (`str`, *optional*):
            `"full"` or `"lite"`; inferred from the tensor shapes when omitted.
        source (`str`, *optional*):
            Name used in error messages.

    Returns:
        `tuple[dict[str, torch.Tensor], str]`: the state dict and the preset it belongs to.
    """
    preset = infer_state_dict_preset(state_dict, expected_shapes, variant=variant, source=source)
    converted = {}
    for name, reference in names(preset).items():
        value = state_dict.get(reference, torch.tensor(0, dtype=torch.long))
        converted[name] = (value if is_step_counter(name) else value.float()).detach().clone()
    return converted, preset


def convert_state_dict(
    state_dict: Mapping[str, torch.Tensor], *, variant: str | None = None, source: str = "checkpoint"
) -> ConvertedCheckpoint:
    """Translate a reference state dict (see [`reference_to_state_dict`]) into a [`ConvertedCheckpoint`]."""
    converted, preset = reference_to_state_dict(state_dict, variant=variant, source=source)
    return ConvertedCheckpoint(state_dict=converted, preset=preset, layout=LAYOUT, source=source)


def convert(path: str | os.PathLike, *, variant: str | None = None) -> ConvertedCheckpoint:
    """
    Read a reference-implementation `.pth` checkpoint safely and translate it (see [`reference_to_state_dict`]):
    this layout's entry point in [`~u2net_hf.conversion.LAYOUTS`].

    Args:
        path (`str` or `os.PathLike`):
            A plain state dict, or a training checkpoint holding one under `"model"` (`model_best.pth`).
        variant (`str`, *optional*):
            `"full"` or `"lite"`; inferred from the tensor shapes when omitted.
    """
    return convert_torch_file(path, convert_state_dict, variant=variant)


__all__ = [
    "DESCRIPTION",
    "LAYOUT",
    "convert",
    "convert_state_dict",
    "expected_shapes",
    "names",
    "reference_name",
    "reference_to_state_dict",
]
