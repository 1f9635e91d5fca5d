# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
Convert rembg's U2-Net ONNX files (`u2netp.onnx`, `u2net.onnx`, `u2net_human_seg.onnx`) to u2net-hf.

Those files are eval-mode `torch.onnx.export`s of the upstream network: every BatchNorm is folded into the
convolution before it (each such conv has a bias and is followed by a Relu), the six side convolutions keep
their upstream names `side1..side6` and the fusion is `outconv`. The folded initializers carry numeric names
only, so they are matched by position: the graph runs the conv-BN-ReLU units in the same order as
[`U2NetForImageSegmentation`] (see [`~u2net_hf.conversion.common.conv_units`]), and each pair is checked for weight shape and
dilation. Every weight is used exactly once and the result loads with `strict=True`.

BatchNorm is unfolded exactly (see [`~u2net_hf.conversion.common.folded_batch_norm`]); the original statistics are gone,
so the converted config sets `freeze_batch_norm=True`.

The `onnx` package is imported only when a file is read: it is an optional dependency (`u2net-hf[onnx]`).

Usage: `u2net-hf convert u2netp.onnx ./u2net-lite`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..configuration_u2net import U2NetConfig
from ..onnx.runtime import import_onnx
from .common import (
    LAYOUT_DESCRIPTIONS,
    ConversionError,
    ConvertedCheckpoint,
    conv_units,
    folded_batch_norm,
    infer_preset,
    list_names,
    model_tensor_shapes,
)

LAYOUT = "onnx"
DESCRIPTION = LAYOUT_DESCRIPTIONS[LAYOUT]


@dataclass(frozen=True)
class OnnxConv:
    """A Conv node of the graph, with its initializers."""

    node_name: str
    weight_name: str
    bias_name: str
    weight: np.ndarray
    bias: np.ndarray
    dilation: int
    attributes: dict
    followed_by_relu: bool

    def describe(self) -> str:
        return f"Conv {self.node_name or self.weight_name!r} (weight {self.weight_name!r})"


def load_onnx_model(path: str | os.PathLike):
    """Read an ONNX file, turning the onnx package's errors into one clear line."""
    try:
        onnx = import_onnx()
    except RuntimeError as error:
        raise ConversionError(str(error)) from None
    from google.protobuf.message import DecodeError

    path = Path(path)
    try:
        return onnx.load(str(path))
    except (DecodeError, ValueError, RuntimeError, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise ConversionError(f"{path}: no such file.") from None
        raise ConversionError(
            f"{path}: not a readable ONNX model; the file is truncated or corrupted ({type(error).__name__})."
        ) from None


def read_onnx_convs(graph, source: str) -> list[OnnxConv]:
    """Every Conv node of the graph in graph order, with its weight and bias arrays. Refuses convolutions that
    are not plain 2-D stride-1 convolutions with "same" padding, and weights that are not initializers."""
    from onnx import numpy_helper

    initializers = {tensor.name: tensor for tensor in graph.initializer}
    computed = {name for node in graph.node for name in node.output}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node.op_type)

    convs = []
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        if len(node.input) != 3:
            raise ConversionError(f"{source}: Conv {node.name!r} has no bias; expected the folded conv+BN layout.")
        weight_name, bias_name = node.input[1], node.input[2]
        missing = [name for name in (weight_name, bias_name) if name not in initializers and name not in computed]
        if missing:
            raise ConversionError(f"{source}: Conv {node.name!r} uses missing tensors: {list_names(missing)}.")
        if weight_name in computed or bias_name in computed:
            raise ConversionError(
                f"{source}: Conv {node.name!r} computes its weight or bias in the graph instead of reading an "
                "initializer; export with export_params=True and do_constant_folding=True."
            )
        attributes = {attribute.name: _attribute_value(attribute) for attribute in node.attribute}
        weight = numpy_helper.to_array(initializers[weight_name]).astype(np.float32)
        bias = numpy_helper.to_array(initializers[bias_name]).astype(np.float32)
        conv = OnnxConv(
            node_name=node.name,
            weight_name=weight_name,
            bias_name=bias_name,
            weight=weight,
            bias=bias,
            dilation=int(attributes.get("dilations", [1, 1])[0]),
            attributes=attributes,
            followed_by_relu=consumers.get(node.output[0], []) == ["Relu"],
        )
        _check_plain_conv(conv, source)
        convs.append(conv)
    return convs


def _attribute_value(attribute):
    from onnx import helper

    value = helper.get_attribute_value(attribute)
    return list(value) if isinstance(value, (list, tuple)) else value


def _check_plain_conv(conv: OnnxConv, source: str) -> None:
    kernel = conv.weight.shape[2:]
    dilations = conv.attributes.get("dilations", [1, 1])
    expected_pads = [conv.dilation * (kernel[0] // 2)] * 4
    problems = []
    if conv.weight.ndim != 4 or kernel[0] != kernel[1]:
        problems.append(f"weight shape {conv.weight.shape}")
    if conv.bias.shape != (conv.weight.shape[0],):
        problems.append(f"bias shape {conv.bias.shape} for {conv.weight.shape[0]} output channels")
    if conv.attributes.get("strides", [1, 1]) != [1, 1] or conv.attributes.get("group", 1) != 1:
        problems.append(f"strides {conv.attributes.get('strides')} group {conv.attributes.get('group')}")
    if dilations[0] != dilations[1]:
        problems.append(f"dilations {dilations}")
    if conv.attributes.get("pads", [0, 0, 0, 0]) != expected_pads:
        problems.append(f"pads {conv.attributes.get('pads')} instead of {expected_pads}")
    if problems:
        raise ConversionError(f"{source}: {conv.describe()} is not a U2-Net convolution: {', '.join(problems)}.")


def _split_convs(convs: list[OnnxConv]) -> tuple[list[OnnxConv], list[OnnxConv]]:
    """Folded conv+BN units are the convs a Relu follows; the others are the side convs (d1 first, as upstream
    computes them) and, last, the fusion."""
    return [c for c in convs if c.followed_by_relu], [c for c in convs if not c.followed_by_relu]


def _head_shapes(preset: str) -> list[tuple[str, tuple[int, ...]]]:
    shapes = model_tensor_shapes(preset)
    config = U2NetConfig(preset=preset)
    heads = [f"side_convs.{k}" for k in range(config.num_side_outputs)] + ["fusion"]
    return [(name, shapes[f"{name}.weight"]) for name in heads]


def _problems(units: list[OnnxConv], heads: list[OnnxConv], preset: str) -> list[str]:
    expected_units = conv_units(preset)
    expected_heads = _head_shapes(preset)
    problems = []
    if len(units) != len(expected_units):
        problems.append(f"{len(units)} folded conv+BN layers where the {preset} network has {len(expected_units)}")
    if len(heads) != len(expected_heads):
        problems.append(f"{len(heads)} side/fusion convs where the {preset} network has {len(expected_heads)}")
    if problems:
        return problems
    for conv, (module, shape, dilation) in zip(units, expected_units, strict=True):
        if conv.weight.shape != shape or conv.dilation != dilation:
            problems.append(
                f"{conv.describe()} has shape {conv.weight.shape} dilation {conv.dilation} where {module} "
                f"needs {shape} dilation {dilation}"
            )
    for conv, (module, shape) in zip(heads, expected_heads, strict=True):
        if conv.weight.shape != shape:
            problems.append(f"{conv.describe()} has shape {conv.weight.shape} where {module} needs {shape}")
    if problems:
        return [f"{len(problems)} mismatches ({list_names(problems, 3)})"]
    return []


def _check_initializers_used_once(graph, convs: list[OnnxConv], source: str) -> None:
    uses = {}
    for conv in convs:
        for name in (conv.weight_name, conv.bias_name):
            uses[name] = uses.get(name, 0) + 1
    shared = [name for name, count in uses.items() if count > 1]
    if shared:
        raise ConversionError(f"{source}: initializers used by several convs: {list_names(shared)}.")
    read_by_other_nodes = {name for node in graph.node if node.op_type != "Conv" for name in node.input}
    unused = [t.name for t in graph.initializer if t.name not in uses and t.name not in read_by_other_nodes]
    if unused:
        raise ConversionError(f"{source}: {len(unused)} initializers no node uses: {list_names(unused)}.")


def rembg_onnx_to_state_dict(
    onnx_model, *, variant: str | None = None, source: str = "ONNX model"
) -> tuple[dict, str]:
    """
    Translate a rembg U2-Net ONNX graph to the state dict of [`U2NetForImageSegmentation`].

    Args:
        onnx_model (`onnx.ModelProto`):
            The loaded ONNX model.
        variant (`str`, *optional*):
            `"full"` or `"lite"`; inferred from the weight shapes when omitted.
        source (`str`, *optional*):
            Name used in error messages.

    Returns:
        `tuple[dict[str, torch.Tensor], str]`: the state dict and the preset it belongs to.
    """
    graph = onnx_model.graph
    convs = read_onnx_convs(graph, source)
    units, heads = _split_convs(convs)
    preset = infer_preset(source, lambda candidate: _problems(units, heads, candidate), variant)
    _check_initializers_used_once(graph, convs, source)

    eps = U2NetConfig(preset=preset).batch_norm_eps
    state_dict = {}
    for conv, (module, _, _) in zip(units, conv_units(preset), strict=True):
        state_dict[f"{module}.conv.weight"] = torch.from_numpy(conv.weight.copy())
        for name, tensor in folded_batch_norm(torch.from_numpy(conv.bias.copy()), eps).items():
            state_dict[f"{module}.norm.{name}"] = tensor
    for conv, (module, _) in zip(heads, _head_shapes(preset), strict=True):
        state_dict[f"{module}.weight"] = torch.from_numpy(conv.weight.copy())
        state_dict[f"{module}.bias"] = torch.from_numpy(conv.bias.copy())
    return state_dict, preset


def convert(path: str | os.PathLike, *, variant: str | None = None) -> ConvertedCheckpoint:
    """
    Read a rembg U2-Net ONNX file and translate it (see [`rembg_onnx_to_state_dict`]): this layout's entry point
    in [`~u2net_hf.conversion.LAYOUTS`].

    Args:
        path (`str` or `os.PathLike`):
            The ONNX file.
        variant (`str`, *optional*):
            `"full"` or `"lite"`; inferred from the weight shapes when omitted.
    """
    path = Path(path)
    state_dict, preset = rembg_onnx_to_state_dict(load_onnx_model(path), variant=variant, source=str(path))
    return ConvertedCheckpoint(
        state_dict=state_dict,
        preset=preset,
        layout=LAYOUT,
        source=path.name,
        freeze_batch_norm=True,
        rescale_by_max=True,  # upstream trained on images divided by their own maximum
        notes=[
            "Its BatchNorm layers had been folded into the convolutions; they were unfolded exactly (weight 1, "
            "bias = folded bias, mean 0, variance 1 - eps), so the converted model computes the same function."
        ],
    )


# The name this converter had before every converter got the same entry point.
convert_rembg_onnx = convert

__all__ = [
    "DESCRIPTION",
    "LAYOUT",
    "OnnxConv",
    "convert",
    "convert_rembg_onnx",
    "load_onnx_model",
    "read_onnx_convs",
    "rembg_onnx_to_state_dict",
]
