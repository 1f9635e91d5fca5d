# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""The int8 recipe: calibration inputs, the convolutions int8 weights would damage, the graph's rewrites for
onnxruntime's int8 kernels, and onnxruntime's static quantization of a float32 export (see docs/performance.md
for what each choice measured)."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F
from torch import nn

from ..devices import cpu_has_int8_dot_product, default_num_threads, torch_threads
from ..image_processing_u2net import U2NetImageProcessor
from ..optimization import optimize_for_inference
from .runtime import INPUT_NAME, import_onnx, import_onnxruntime

# Photos shipped with scikit-image used to calibrate int8 activations when no images are given; none of them is
# one the tests and benchmarks score the int8 model on (astronaut, chelsea, coffee). The masks depend on this
# choice more than expected (see docs/performance.md): without the dark, star-spotted hubble_deep_field, some
# activation ranges come out too narrow and the mask IoU on chelsea drops from 0.98 to 0.92.
DEFAULT_CALIBRATION_PHOTOS = (
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "colorwheel",
    "camera",
    "coins",
    "clock",
)

# Only these operators run in int8. The ReLUs are quantized (onnxruntime's quantizer then drops them into the
# convolutions' output ranges): without them every convolution's output was quantized before its ReLU, then
# dequantized, passed through a float32 ReLU and quantized again, and the lite model took 0.75x rembg's time per
# image instead of 0.61x (AVX-512 VNNI, 2026-12-02). `Add` is there for the sums of split convolutions alone
# (see `_split_convs`): the network's own residual additions are excluded by name. Where both their inputs are
# quantized, onnxruntime fuses them anyway; quantizing them all cost 0.03 of mask IoU on chelsea for 3% of
# speed. (An earlier finding that quantized additions "lose the foreground" was onnxruntime's
# WeightBiasQuantization pass re-quantizing the convolutions kept in float32 whose outputs then met a
# quantize: see docs/performance.md.)
INT8_OP_TYPES = ("Conv", "MaxPool", "Concat", "Resize", "Relu", "Add")
# Convolutions whose output keeps less than this signal-to-noise ratio once their weights are rounded to int8
# are split in two int8 convolutions (int8 weights; see `_split_convs`) or stay in float32 (uint8 weights). In
# the official lite weights one convolution (the last of decoder stage De2) sums large terms that cancel out:
# int8 weights leave it at -5 dB and wreck the mask. Two more sit below 30 dB (24 and 28 dB: the side
# convolution of the deepest stage and the second-to-last of De1); the next, at 32 dB, is De1's last, at full
# resolution, and the costliest of all in float32: quantizing it took the lite model from 0.59x to 0.46x rembg's
# time per image, with the mask IoU on chelsea at 0.988 (int8 weights) and 0.987 (uint8) either way (AVX-512
# VNNI, 2026-12-02; the recipe quantized no ReLUs when this threshold was 35 dB).
INT8_MIN_WEIGHT_SNR_DB = 30.0
# onnxruntime's int8 convolution kernels compute output channels in blocks of 16: a convolution with one output
# channel is given this many copies of its filter (see `_widen_single_channel_convs`).
WIDE_CONV_CHANNELS = 16
# How many calibration images measure each convolution's sensitivity to int8 weights.
SNR_IMAGES = 3


def calibration_pixel_values(images: Sequence | None, processor: U2NetImageProcessor) -> list[np.ndarray]:
    """
    The model inputs to calibrate int8 activations on: `images` (PIL images, arrays or file paths) through the
    image processor, or by default the photos of `DEFAULT_CALIBRATION_PHOTOS` from scikit-image.
    """
    if images is None:
        images = _default_calibration_photos()
    if isinstance(images, (str, os.PathLike, PIL.Image.Image, np.ndarray)) or len(images) == 0:
        raise ValueError("calibration_images must be a non-empty list of images (PIL images, arrays or file paths).")
    pixel_values = []
    for image in images:
        if isinstance(image, (str, os.PathLike)):
            from ..images import load_image

            image = load_image(image)  # the package's one loader: EXIF, first frame, one-line errors
        pixel_values.append(processor.preprocess(image, return_tensors="np")["pixel_values"].astype(np.float32))
    return pixel_values


def _default_calibration_photos() -> list[np.ndarray]:
    try:
        from skimage import data
    except ImportError as error:
        raise RuntimeError(
            "int8 export calibrates on real photos: pass calibration_images=[...] (--calibration-images on the "
            "command line), or install scikit-image for the default set."
        ) from error
    return [getattr(data, name)() for name in DEFAULT_CALIBRATION_PHOTOS]


def int8_sensitive_convs(
    model: nn.Module, onnx_path: str | os.PathLike, pixel_values: Sequence[np.ndarray]
) -> list[str]:
    """
    Names of the `Conv` nodes of `onnx_path` (the float32 export of `model`) that int8 weights would damage:
    those whose output, measured on `pixel_values`, keeps a signal-to-noise ratio below
    `INT8_MIN_WEIGHT_SNR_DB` once their weights are rounded to per-channel symmetric int8 (as onnxruntime
    rounds them). Measured in PyTorch on the batch-norm-folded network, which is what the graph holds; the
    graph's convolutions are matched to the model's in execution order, and their weight shapes checked.
    """
    onnx = import_onnx()
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    shapes = {tensor.name: tuple(tensor.dims) for tensor in graph.initializer}
    nodes = [(node.name, shapes.get(node.input[1])) for node in graph.node if node.op_type == "Conv"]
    measured = _int8_weight_snr_db(model, pixel_values)
    if [shape for _, shape in nodes] != [shape for shape, _ in measured]:
        raise RuntimeError(
            f"Cannot match the convolutions of {onnx_path} to the model's ({len(nodes)} against {len(measured)}, "
            "or in another order); export without int8."
        )
    return [name for (name, _), (_, snr) in zip(nodes, measured) if snr < INT8_MIN_WEIGHT_SNR_DB]


def first_stage_activations(model: nn.Module, onnx_path: str | os.PathLike) -> list[str]:
    """
    Names of the `Relu` nodes of the first encoder stage of `onnx_path` (the float32 export of `model`), which the
    int8 recipe leaves in float32. That full-resolution stage sees the photo's fine detail first; with its ReLUs
    quantized too, the mask IoU against float32 on chelsea fell to 0.940 (0.988 with them in float32; astronaut
    and coffee 0.995 and 0.999 either way), for about 0.05 of rembg's time per image; no smaller subset of them
    held 0.98 with a margin. Found by the exporter's module scope (`/model/<base_model_prefix>/encoder.0/`) and
    checked against the stage's ReLUs in `model`.
    """
    onnx = import_onnx()
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    scope = f"/model/{model.base_model_prefix}/encoder.0/"
    names = [node.name for node in graph.node if node.op_type == "Relu" and node.name.startswith(scope)]
    expected = sum(isinstance(module, nn.ReLU) for module in model.base_model.encoder[0].modules())
    if len(names) != expected:
        raise RuntimeError(
            f"Cannot find the first stage of {onnx_path} by its node names ({len(names)} ReLUs under {scope}, "
            f"expected {expected}); export without int8."
        )
    return names


@torch.no_grad()
def _int8_weight_snr_db(model: nn.Module, pixel_values: Sequence[np.ndarray]) -> list[tuple[tuple[int, ...], float]]:
    """(weight shape, output SNR in dB with int8 weights) of every convolution, in execution order."""
    folded = optimize_for_inference(model, channels_last=False).to(device="cpu", dtype=torch.float32)
    order, signal, noise = [], {}, {}

    def measure(conv, inputs, output):
        if conv not in signal:
            order.append(conv)
            signal[conv] = noise[conv] = 0.0
        weight_error = conv.weight - torch.from_numpy(_int8_weight_grid(conv.weight.detach().numpy()))
        error = F.conv2d(inputs[0], weight_error, None, conv.stride, conv.padding, conv.dilation, conv.groups)
        signal[conv] += float(torch.linalg.vector_norm(output)) ** 2
        noise[conv] += float(torch.linalg.vector_norm(error)) ** 2

    hooks = [module.register_forward_hook(measure) for module in folded.modules() if isinstance(module, nn.Conv2d)]
    try:
        with torch_threads(default_num_threads("torch")):
            # A few images pin the ratios down well enough: the sensitive layers stand tens of dB apart.
            for batch in pixel_values[:SNR_IMAGES]:
                folded(torch.from_numpy(batch))
    finally:
        for hook in hooks:
            hook.remove()
    return [
        (tuple(conv.weight.shape), 10 * np.log10(max(signal[conv], 1e-30) / max(noise[conv], 1e-30))) for conv in order
    ]


def _int8_weight_grid(weight: np.ndarray) -> np.ndarray:
    """
    `weight` (a convolution's, output channels first) rounded to per-channel symmetric int8 as onnxruntime's
    quantizer rounds it (scale: the channel's largest magnitude over 127), back in float32.
    """
    flat = weight.reshape(weight.shape[0], -1)
    scale = np.maximum(np.abs(flat).max(axis=1, keepdims=True), 1e-12).astype(np.float32) / np.float32(127)
    return (np.clip(np.round(flat / scale), -127, 127) * scale).astype(np.float32).reshape(weight.shape)


def quantize_int8(
    source: str | os.PathLike,
    target: str | os.PathLike,
    calibration: Sequence[np.ndarray],
    *,
    keep_float: Sequence[str] = (),
    sensitive_convs: Sequence[str] = (),
    weights: str | None = None,
) -> Path:
    """
    Quantize a float32 U2-Net ONNX file to int8 with onnxruntime's static quantization: QDQ format (faster
    here than QOperator: 0.21 s against 0.24 s per lite image), per-channel weights (int8, or uint8 on CPUs
    where int8 weights would saturate: see [`int8_weight_type`]), uint8 activations with min-max ranges from
    `calibration`. With int8 weights the graph is first reshaped for onnxruntime's int8 kernels, each change
    exact or (the split) more precise: convolutions with one output channel get 16, the RGB input a fourth,
    zero channel, and the sensitive convolutions are split in two.

    Args:
        source (`str` or `os.PathLike`): The float32 ONNX file.
        target (`str` or `os.PathLike`): Where to write the int8 one.
        calibration (`list[np.ndarray]`): Model inputs (`pixel_values`) to calibrate on.
        keep_float (`list[str]`, *optional*):
            Names of nodes to keep in float32 (see [`first_stage_activations`]).
        sensitive_convs (`list[str]`, *optional*):
            Names of the convolutions that int8 weights would damage (see [`int8_sensitive_convs`]). With int8
            weights each becomes the sum of two int8 convolutions: one with its weights rounded to int8, one with
            what the rounding left out. With uint8 weights they stay in float32.
        weights (`str`, *optional*):
            `"int8"` or `"uint8"` weights; by default what suits this machine (see [`int8_weight_type`]).
    """
    weights = _check_weights(weights)
    onnx = import_onnx()
    quantization = _import_onnxruntime_quantization()
    proto = _unshare_initializers(onnx.load(str(source)))
    excluded = [*keep_float, *_additions(proto)]
    if weights == "int8":
        _widen_single_channel_convs(proto)
        _split_convs(proto, sensitive_convs)
        _pad_rgb_inputs(proto)
        _drop_unused_initializers(proto)  # the filters replaced (onnxruntime warns of each)
    else:
        excluded += sensitive_convs
    with tempfile.TemporaryDirectory(prefix="u2net-hf-int8-") as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        onnx.save(proto, str(prepared))
        quantized = Path(scratch) / "quantized.onnx"
        _quantize_static(quantization, prepared, quantized, calibration, excluded, weights)
        onnx.save(_shapes_of_quantized_tensors(onnx.load(str(quantized))), str(target))
    return Path(target)


def _check_weights(weights: str | None) -> str:
    if weights is None:
        return int8_weight_type()
    if weights not in ("int8", "uint8"):
        raise ValueError(f"int8 weights are 'int8' or 'uint8', got {weights!r}.")
    return weights


def _unshare_initializers(proto):
    """Give every `Identity` of an initializer its own copy of the tensor. The TorchScript exporter shares equal
    tensors (e.g. the zero biases of untrained convolutions) through `Identity` nodes; the quantizer leaves such
    biases in float32, and onnxruntime then runs those convolutions in float32 between a dequantize and a
    quantize: slower than no quantization at all."""
    numpy_helper = import_onnx().numpy_helper

    initializers = {tensor.name: tensor for tensor in proto.graph.initializer}
    kept = []
    for node in proto.graph.node:
        if node.op_type == "Identity" and node.input[0] in initializers:
            array = numpy_helper.to_array(initializers[node.input[0]])
            proto.graph.initializer.append(numpy_helper.from_array(array, name=node.output[0]))
        else:
            kept.append(node)
    _replace_nodes(proto, kept)
    return proto


def _shapes_of_quantized_tensors(proto):
    """Let every `Shape` node read the quantized tensor instead of its dequantized copy. Each upsampling takes its
    size from another tensor's shape; read after a `DequantizeLinear`, that shape costs onnxruntime a full float32
    copy of the tensor (and a layout transpose) that nothing else uses: 7% of the lite model's time."""
    producers = {output: node for node in proto.graph.node for output in node.output}
    for node in proto.graph.node:
        producer = producers.get(node.input[0]) if node.op_type == "Shape" else None
        if producer is not None and producer.op_type == "DequantizeLinear":
            node.input[0] = producer.input[0]
    used = {name for node in proto.graph.node for name in node.input} | {output.name for output in proto.graph.output}
    _replace_nodes(
        proto, [node for node in proto.graph.node if node.op_type != "DequantizeLinear" or node.output[0] in used]
    )
    return proto


def _additions(proto) -> list[str]:
    """The network's own `Add` nodes (its residual connections), which the recipe leaves to onnxruntime."""
    return [node.name for node in proto.graph.node if node.op_type == "Add"]


def _widen_single_channel_convs(proto) -> None:
    """Give every convolution with one output channel `WIDE_CONV_CHANNELS` copies of its filter, and keep the first
    channel with a `Slice`: the same numbers, from kernels that compute output channels in blocks of 16. In the
    lite model the full-resolution side convolution (64 -> 1 channel at 320x320) took 13 ms in int8, twice its
    float32 time; widened, 2.6 ms (0.67x -> 0.60x rembg's time per image, AVX-512 VNNI with AMX, 2026-12-02)."""
    onnx = import_onnx()
    numpy_helper, helper = onnx.numpy_helper, onnx.helper
    initializers = {tensor.name: tensor for tensor in proto.graph.initializer}
    nodes = []
    for node in proto.graph.node:
        nodes.append(node)
        if node.op_type != "Conv" or initializers[node.input[1]].dims[0] != 1:
            continue
        for index in range(1, len(node.input)):  # the filter and the bias
            if node.input[index]:
                array = numpy_helper.to_array(initializers[node.input[index]])
                wide = f"{node.input[index]}/wide"
                proto.graph.initializer.append(numpy_helper.from_array(np.repeat(array, WIDE_CONV_CHANNELS, 0), wide))
                node.input[index] = wide
        output = node.output[0]
        node.output[0] = f"{output}/wide"
        bounds = [f"{node.name}/slice_{name}" for name in ("starts", "ends", "axes")]
        for name, value in zip(bounds, (0, 1, 1)):
            proto.graph.initializer.append(numpy_helper.from_array(np.array([value], np.int64), name))
        nodes.append(helper.make_node("Slice", [node.output[0], *bounds], [output], name=f"{node.name}/slice"))
    _replace_nodes(proto, nodes)


def _split_convs(proto, names: Sequence[str]) -> None:
    """Replace each convolution of `names` by the sum of two: one whose weights are the convolution's rounded to
    per-channel int8 (as the quantizer rounds them, so they quantize exactly) and one with what the rounding left
    out (which the quantizer rounds at its own, far finer, scales). Each half's output is about the size of the
    whole's, so the uint8 activations lose little. Where De2's last convolution kept -5 dB with int8 weights, the
    split keeps the lite model's masks (chelsea IoU 0.986) with no float32 convolution left: the three that were
    kept in float32 also broke the int8 graph into NCHW float32 islands (lite model 0.60x -> 0.52x rembg's time)."""
    onnx = import_onnx()
    numpy_helper, helper = onnx.numpy_helper, onnx.helper
    initializers = {tensor.name: tensor for tensor in proto.graph.initializer}
    wanted, nodes = set(names), []
    for node in proto.graph.node:
        if node.op_type != "Conv" or node.name not in wanted:
            nodes.append(node)
            continue
        wanted.discard(node.name)
        weight = numpy_helper.to_array(initializers[node.input[1]])
        rounded = _int8_weight_grid(weight)
        rest = copy.deepcopy(node)
        rest.name = f"{node.name}/rest"
        proto.graph.initializer.extend(
            [
                numpy_helper.from_array(rounded, f"{node.input[1]}/rounded"),
                numpy_helper.from_array((weight - rounded).astype(np.float32), f"{node.input[1]}/rest"),
            ]
        )
        rest.input[1] = f"{node.input[1]}/rest"
        if len(rest.input) > 2 and rest.input[2]:
            del rest.input[2]  # the bias goes with the rounded half
        output = node.output[0]
        node.input[1], node.output[0], rest.output[0] = (
            f"{node.input[1]}/rounded",
            f"{output}/rounded",
            f"{output}/rest",
        )
        nodes += [
            node,
            rest,
            helper.make_node("Add", [node.output[0], rest.output[0]], [output], name=f"{node.name}/sum"),
        ]
    if wanted:
        raise RuntimeError(f"No convolution named {sorted(wanted)} to split; export without int8.")
    _replace_nodes(proto, nodes)


def _pad_rgb_inputs(proto) -> None:
    """Give convolutions of three input channels (the first, on the photo) a fourth, zero channel, and their input
    a zero plane: onnxruntime's int8 kernels handle three channels slowly (the lite model's first convolution:
    6.7 ms; 1.6 ms with four)."""
    onnx = import_onnx()
    numpy_helper, helper = onnx.numpy_helper, onnx.helper
    initializers = {tensor.name: tensor for tensor in proto.graph.initializer}
    nodes = []
    for node in proto.graph.node:
        shape = tuple(initializers[node.input[1]].dims) if node.op_type == "Conv" else ()
        groups = next((attribute.i for attribute in node.attribute if attribute.name == "group"), 1)
        if len(shape) == 4 and shape[1] == 3 and groups == 1:
            weight = numpy_helper.to_array(initializers[node.input[1]])
            padded = np.concatenate([weight, np.zeros_like(weight[:, :1])], axis=1)
            initializers[node.input[1]].CopyFrom(numpy_helper.from_array(padded, node.input[1]))
            pads = f"{node.name}/rgb_pads"
            proto.graph.initializer.append(numpy_helper.from_array(np.array([0, 0, 0, 0, 0, 1, 0, 0], np.int64), pads))
            padded_input = f"{node.name}/padded_input"
            nodes.append(helper.make_node("Pad", [node.input[0], pads], [padded_input], name=f"{node.name}/pad"))
            node.input[0] = padded_input
        nodes.append(node)
    _replace_nodes(proto, nodes)


def _drop_unused_initializers(proto) -> None:
    used = {name for node in proto.graph.node for name in node.input}
    kept = [tensor for tensor in proto.graph.initializer if tensor.name in used]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(kept)


def _replace_nodes(proto, nodes) -> None:
    kept = list(nodes)
    del proto.graph.node[:]
    proto.graph.node.extend(kept)


def int8_weight_type() -> str:
    """
    How the int8 export stores its weights on this machine: `"int8"` where the CPU multiplies uint8 activations by
    int8 weights exactly (VNNI, ARM64: onnxruntime's fastest kernels), else `"uint8"`, whose kernels cannot
    saturate (see [`~u2net_hf.devices.cpu_has_int8_dot_product`]). Part of the export's cache key and metadata.
    """
    return "int8" if cpu_has_int8_dot_product() else "uint8"


def _quantize_static(quantization, source: Path, target, calibration, keep_float, weights: str) -> None:
    with _quiet_onnxruntime_quantization():
        quantization.quantize_static(
            str(source),
            str(target),
            _calibration_reader(calibration, quantization.CalibrationDataReader),
            quant_format=quantization.QuantFormat.QDQ,
            op_types_to_quantize=list(INT8_OP_TYPES),
            per_channel=True,
            activation_type=quantization.QuantType.QUInt8,
            weight_type=quantization.QuantType.QInt8 if weights == "int8" else quantization.QuantType.QUInt8,
            nodes_to_exclude=list(keep_float),
            calibrate_method=quantization.CalibrationMethod.MinMax,
            # Merge the ranges after every image instead of holding every activation of every image (gigabytes
            # for the full-size model).
            extra_options={"CalibStridedMinMax": 1},
        )


def _calibration_reader(pixel_values: Sequence[np.ndarray], base: type):
    # Defined here because the base class lives in onnxruntime, which is imported only when quantizing.
    class CalibrationReader(base):
        """Feeds the calibration inputs one by one; `set_range` lets the quantizer take them in strides."""

        def __init__(self):
            self.set_range(0, len(pixel_values))

        def __len__(self) -> int:
            return len(pixel_values)

        def set_range(self, start_index: int, end_index: int) -> None:
            self._batches = iter(pixel_values[start_index:end_index])

        def get_next(self):
            batch = next(self._batches, None)
            return None if batch is None else {INPUT_NAME: batch}

    return CalibrationReader()


@contextlib.contextmanager
def _quiet_onnxruntime_quantization() -> Iterator[None]:
    # The quantizer logs advice through the root logger ("consider pre-processing...") on every call.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def _import_onnxruntime_quantization():
    import_onnxruntime()
    from onnxruntime import quantization

    return quantization


__all__ = [
    "DEFAULT_CALIBRATION_PHOTOS",
    "INT8_MIN_WEIGHT_SNR_DB",
    "INT8_OP_TYPES",
    "SNR_IMAGES",
    "WIDE_CONV_CHANNELS",
    "calibration_pixel_values",
    "first_stage_activations",
    "int8_sensitive_convs",
    "int8_weight_type",
    "quantize_int8",
]
