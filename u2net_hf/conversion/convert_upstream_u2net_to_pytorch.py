# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
Convert checkpoints of the original U-2-Net code (xuebinqin/U-2-Net: `u2net.pth`, `u2netp.pth`,
`u2net_human_seg.pth`, `u2net_portrait.pth`) to u2net-hf.

Upstream names its stages `stage1..stage6` (encoder) and `stage5d..stage1d` (decoder); inside each RSU block
`rebnconvin`, `rebnconv1..rebnconvL` and `rebnconv(L-1)d..rebnconv1d`, each a `conv_s1` convolution **with** a
bias followed by `bn_s1`; the side convolutions are `side1..side6` (d1..d6) and the fusion is `outconv`.
u2net-hf's convolutions before a BatchNorm have no bias, so the bias moves into the BatchNorm, exactly:
`bn(conv(x) + b)` with mean `m` equals `bn(conv(x))` with mean `m - b`.

Files are read with `torch.load(..., weights_only=True)` only.

Usage: `u2net-hf convert u2netp.pth ./u2net-lite`.
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

LAYOUT = "upstream"
DESCRIPTION = LAYOUT_DESCRIPTIONS[LAYOUT]
NORM_TENSORS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _stage_name(part: str, index: int, num_decoder_stages: int) -> str:
    # Encoder stages run top down (stage1 first); decoder stages bottom up (stage5d first, stage1d last).
    return f"stage{index + 1}" if part == "encoder" else f"stage{num_decoder_stages - index}d"


def _conv_name(role: str, index: int, height: int) -> str:
    if role == "input_conv":
        return "rebnconvin"
    if role == "encoder":
        return f"rebnconv{index + 1}"
    return f"rebnconv{height - 1 - index}d"  # decoder convs run from the deepest level up


def unit_names(preset: str) -> dict[str, str]:
    """Our conv-BN-ReLU module names mapped to upstream's REBNCONV module names, for a preset."""
    config = U2NetConfig(preset=preset)
    stages = {"encoder": config.encoder_stages, "decoder": config.decoder_stages}
    names = {}
    for name in model_tensor_shapes(preset):
        if not name.endswith(".conv.weight"):
            continue
        module = name[: -len(".conv.weight")]
        _, part, stage, role, *index = module.split(".")
        height = stages[part][int(stage)][0]
        upstream_stage = _stage_name(part, int(stage), len(config.decoder_stages))
        names[module] = f"{upstream_stage}.{_conv_name(role, int(index[0]) if index else 0, height)}"
    return names


def head_names(preset: str) -> dict[str, str]:
    """Side and fusion convolutions: `side_convs.k` is upstream's `side{k+1}` (both count from d1)."""
    num_sides = U2NetConfig(preset=preset).num_side_outputs
    return {**{f"side_convs.{k}": f"side{k + 1}" for k in range(num_sides)}, "fusion": "outconv"}


def expected_shapes(preset: str) -> dict[str, tuple[int, ...]]:
    """Every tensor an upstream checkpoint of this preset holds, with its shape."""
    ours = model_tensor_shapes(preset)
    shapes = {}
    for module, upstream in unit_names(preset).items():
        weight_shape = ours[f"{module}.conv.weight"]
        shapes[f"{upstream}.conv_s1.weight"] = weight_shape
        shapes[f"{upstream}.conv_s1.bias"] = (weight_shape[0],)
        for tensor in NORM_TENSORS:
            shapes[f"{upstream}.bn_s1.{tensor}"] = ours[f"{module}.norm.{tensor}"]
    for module, upstream in head_names(preset).items():
        for tensor in ("weight", "bias"):
            shapes[f"{upstream}.{tensor}"] = ours[f"{module}.{tensor}"]
    return shapes


def upstream_to_state_dict(
    state_dict: Mapping[str, torch.Tensor], *, variant: str | None = None, source: str = "checkpoint"
) -> tuple[dict[str, torch.Tensor], str]:
    """
    Translate an upstream U-2-Net state dict to the state dict of [`U2NetForImageSegmentation`].

    Args:
        state_dict (`Mapping[str, torch.Tensor]`):
            The upstream tensors (`stage1.rebnconvin.conv_s1.weight`, ...).
        variant (`str`, *optional*):
            `"full"` (U2NET) or `"lite"` (U2NETP); inferred from the tensor shapes when omitted.
        source (`str`, *optional*):
            Name used in error messages.

    Returns:
        `tuple[dict[str, torch.Tensor], str]`: the state dict and the preset it belongs to.
    """
    preset = infer_state_dict_preset(state_dict, expected_shapes, variant=variant, source=source)
    converted = {}
    for module, upstream in unit_names(preset).items():
        conv_bias = state_dict[f"{upstream}.conv_s1.bias"].float()
        converted[f"{module}.conv.weight"] = state_dict[f"{upstream}.conv_s1.weight"].float()
        for tensor in NORM_TENSORS:
            value = state_dict.get(f"{upstream}.bn_s1.{tensor}", torch.tensor(0, dtype=torch.long))
            converted[f"{module}.norm.{tensor}"] = value if is_step_counter(tensor) else value.float()
        converted[f"{module}.norm.running_mean"] = converted[f"{module}.norm.running_mean"] - conv_bias
    for module, upstream in head_names(preset).items():
        for tensor in ("weight", "bias"):
            converted[f"{module}.{tensor}"] = state_dict[f"{upstream}.{tensor}"].float()
    return {name: tensor.detach().clone().contiguous() for name, tensor in converted.items()}, preset


def convert_state_dict(
    state_dict: Mapping[str, torch.Tensor], *, variant: str | None = None, source: str = "checkpoint"
) -> ConvertedCheckpoint:
    """Translate an upstream state dict (see [`upstream_to_state_dict`]) into a [`ConvertedCheckpoint`]."""
    converted, preset = upstream_to_state_dict(state_dict, variant=variant, source=source)
    return ConvertedCheckpoint(
        state_dict=converted,
        preset=preset,
        layout=LAYOUT,
        source=source,
        rescale_by_max=True,  # upstream trained on images divided by their own maximum
        notes=["Each convolution bias was folded exactly into the running mean of the BatchNorm after it."],
    )


def convert(path: str | os.PathLike, *, variant: str | None = None) -> ConvertedCheckpoint:
    """
    Read an upstream `.pth` checkpoint safely and translate it (see [`upstream_to_state_dict`]): this layout's
    entry point in [`~u2net_hf.conversion.LAYOUTS`].

    Args:
        path (`str` or `os.PathLike`):
            A state dict saved by upstream's training script (`u2net.pth`, `u2netp.pth`, ...), possibly from
            `nn.DataParallel`.
        variant (`str`, *optional*):
            `"full"` (U2NET) or `"lite"` (U2NETP); inferred from the tensor shapes when omitted.
    """
    return convert_torch_file(path, convert_state_dict, variant=variant)


__all__ = [
    "DESCRIPTION",
    "LAYOUT",
    "convert",
    "convert_state_dict",
    "expected_shapes",
    "head_names",
    "unit_names",
    "upstream_to_state_dict",
]
