# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""The int8 recipe: calibration inputs, the convolutions kept in float32, and onnxruntime's static quantization
of a float32 export (see docs/performance.md for what each choice measured)."""

from __future__ import annotations

import contextlib
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
# image instead of 0.61x (AVX-512 VNNI, 2026-12-02). The residual additions are not quantized as such (where both
# their inputs are, onnxruntime fuses them anyway): quantizing them all cost 0.03 of mask IoU on chelsea for 3% of
# speed. (An earlier finding that quantized additions "lose the foreground" was onnxruntime's
# WeightBiasQuantization pass re-quantizing the convolutions kept in float32 whose outputs then met a
# quantize: see docs/performance.md.)
INT8_OP_TYPES = ("Conv", "MaxPool", "Concat", "Resize", "Relu")
# Convolutions whose output keeps less than this signal-to-noise ratio once their weights are rounded to int8
# stay in float32. In the official lite weights one convolution (the last of decoder stage De2) sums large
# terms that cancel out: int8 weights leave it at -5 dB and wreck the mask. Two more sit below 30 dB (24 and
# 28 dB: the side convolution of the deepest stage and the second-to-last of De1); the next, at 32 dB, is De1's
# last, at full resolution, and the costliest of all in float32: quantizing it took the lite model from 0.59x
# to 0.46x rembg's time per image, with the mask IoU on chelsea at 0.988 (int8 weights) and 0.987 (uint8) either
# way (AVX-512 VNNI, 2026-12-02; the recipe quantized no ReLUs when this threshold was 35 dB).
INT8_MIN_WEIGHT_SNR_DB = 30.0
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
        weight_error = conv.weight - _fake_quantize_int8(conv.weight)
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


def _fake_quantize_int8(weight: torch.Tensor) -> torch.Tensor:
    scale = weight.abs().amax(dim=tuple(range(1, weight.ndim)), keepdim=True).clamp(min=1e-12) / 127
    return torch.round(weight / scale).clamp(-127, 127) * scale


def quantize_int8(
    source: str | os.PathLike,
    target: str | os.PathLike,
    calibration: Sequence[np.ndarray],
    *,
    keep_float: Sequence[str] = (),
    weights: str | None = None,
) -> Path:
    """
    Quantize a float32 U2-Net ONNX file to int8 with onnxruntime's static quantization: QDQ format (faster
    here than QOperator: 0.21 s against 0.24 s per lite image), per-channel weights (int8, or uint8 on CPUs
    where int8 weights would saturate: see [`int8_weight_type`]), uint8 activations with min-max ranges from
    `calibration`.

    Args:
        source (`str` or `os.PathLike`): The float32 ONNX file.
        target (`str` or `os.PathLike`): Where to write the int8 one.
        calibration (`list[np.ndarray]`): Model inputs (`pixel_values`) to calibrate on.
        keep_float (`list[str]`, *optional*):
            Names of nodes to keep in float32 (see [`int8_sensitive_convs`] and [`first_stage_activations`]).
        weights (`str`, *optional*):
            `"int8"` or `"uint8"` weights; by default what suits this machine (see [`int8_weight_type`]).
    """
    weights = _check_weights(weights)
    onnx = import_onnx()
    quantization = _import_onnxruntime_quantization()
    with tempfile.TemporaryDirectory(prefix="u2net-hf-int8-") as scratch:
        unshared = Path(scratch) / "unshared.onnx"
        onnx.save(_unshare_initializers(onnx.load(str(source))), str(unshared))
        quantized = Path(scratch) / "quantized.onnx"
        _quantize_static(quantization, unshared, quantized, calibration, keep_float, weights)
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
    del proto.graph.node[:]
    proto.graph.node.extend(kept)
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
    kept = [node for node in proto.graph.node if node.op_type != "DequantizeLinear" or node.output[0] in used]
    del proto.graph.node[:]
    proto.graph.node.extend(kept)
    return proto


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
    "calibration_pixel_values",
    "first_stage_activations",
    "int8_sensitive_convs",
    "int8_weight_type",
    "quantize_int8",
]
