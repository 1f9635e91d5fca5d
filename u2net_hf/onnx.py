# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""ONNX export of U2-Net (float32 or int8), and an onnxruntime model that is called like the PyTorch one.

Needs the `onnx` extra: `pip install "u2net-hf[onnx]"`.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import inspect
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F
from torch import nn

from .configuration_u2net import U2NetConfig
from .image_processing_u2net import U2NetImageProcessor
from .modeling_u2net import U2NetSegmentationOutput, check_pixel_values
from .optimization import default_num_threads, optimize_for_inference
from .pretrained import _folder_stamp, load_image_processor, load_model, resolve_model_path

DEFAULT_OPSET = 17
INPUT_NAME = "pixel_values"
OUTPUT_NAMES = ("logits", "side_logits")
CACHE_ENV = "U2NET_HF_CACHE"

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

# The int8 recipe. Only these operators run in int8: quantizing the residual additions too made onnxruntime's
# fused int8 kernels lose the foreground (mask IoU 0.57-0.76 against float32 on real photos, while the same
# graph run unfused kept 0.96-0.995), for a speed gain of about 15%.
INT8_OP_TYPES = ("Conv", "MaxPool", "Concat", "Resize")
# Convolutions whose output keeps less than this signal-to-noise ratio once their weights are rounded to int8
# stay in float32. In the official lite weights one convolution (the last of decoder stage De2) sums large
# terms that cancel out: int8 weights leave it at -5 dB and wreck the mask. Two more sit below 30 dB (25 and
# 29 dB); keeping them too lifted the worst mask IoU from 0.975 to 0.981 at no measurable cost in speed.
INT8_MIN_WEIGHT_SNR_DB = 30.0
# How many calibration images measure each convolution's sensitivity to int8 weights.
SNR_IMAGES = 3
# Bump when the export or the int8 recipe changes, so cached exports are made again.
EXPORT_RECIPE_VERSION = 2

logger = logging.getLogger(__name__)


def export_onnx(
    model,
    path: str | os.PathLike,
    *,
    opset: int = DEFAULT_OPSET,
    int8: bool = False,
    calibration_images: Sequence | None = None,
    dynamo: bool = False,
) -> Path:
    """
    Export a U2-Net model to an ONNX file with dynamic batch size, height and width, optionally quantized to
    int8, checked with `onnx.checker`, and carrying its model id and preprocessing in its metadata.

    The graph takes `pixel_values` (float32, `(batch, 3, height, width)`, as made by the model's image
    processor) and returns `logits` and `side_logits` as [`U2NetForImageSegmentation`] does (before the
    sigmoid). Batch normalization is folded into the convolutions. [`OnnxU2Net`] runs the file.

    Args:
        model (`str`, `os.PathLike` or [`U2NetForImageSegmentation`]):
            What to export: a model spec as accepted by [`load_model`] (`"u2net-lite"`, a folder, a Hub repo id)
            or a loaded model (exported in eval mode, in float32; the model itself is not changed).
        path (`str` or `os.PathLike`):
            The `.onnx` file to write. Written atomically: a file already there is replaced only once the new
            one is complete and checked.
        opset (`int`, *optional*, defaults to 17):
            ONNX opset version.
        int8 (`bool`, *optional*, defaults to `False`):
            Quantize to int8 with onnxruntime's static quantization (QDQ format, per-channel int8 weights, uint8
            activations calibrated on real photos). About 2x faster on CPUs than float32; the masks move a
            little (see docs/performance.md for the measured IoU). A few convolutions too sensitive to int8
            weights are kept in float32, found by measuring each one on the calibration images.
        calibration_images (`list`, *optional*):
            Images to calibrate the int8 activation ranges on (PIL images, arrays or file paths): a few photos
            like the ones the model will see. Defaults to photos shipped with scikit-image.
        dynamo (`bool`, *optional*, defaults to `False`):
            Use the `torch.export`-based exporter (needs `onnxscript`) instead of the TorchScript-based one. Both
            give the same outputs; the TorchScript-based one exports about 10x faster here.

    Returns:
        `pathlib.Path`: the path written.

    Example:

    ```python
    >>> from u2net_hf.onnx import OnnxU2Net, export_onnx

    >>> path = export_onnx("u2net-lite", "u2net-lite.onnx")
    >>> onnx_model = OnnxU2Net(path)
    ```
    """
    onnx = _import_onnx()
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give the path of the .onnx file to write.")
    if not isinstance(opset, int) or isinstance(opset, bool) or not 11 <= opset <= 23:
        raise ValueError(f"opset must be an integer between 11 and 23, got {opset!r}.")
    if dynamo:
        try:
            import onnxscript  # noqa: F401
        except ImportError as error:
            raise RuntimeError("export_onnx(dynamo=True) needs onnxscript: pip install onnxscript.") from error
    torch_model = load_model(model)
    processor = load_image_processor(model)

    with tempfile.TemporaryDirectory(prefix="u2net-hf-onnx-") as scratch:
        exported = Path(scratch) / "model.onnx"
        _export_float32(torch_model, exported, processor, opset=opset, dynamo=dynamo)
        if int8:
            pixel_values = calibration_pixel_values(calibration_images, processor)
            quantized = Path(scratch) / "model.int8.onnx"
            keep_float = int8_sensitive_convs(torch_model, exported, pixel_values)
            quantize_int8(exported, quantized, pixel_values, keep_float=keep_float)
            exported = quantized

        proto = onnx.load(str(exported))
        _set_metadata(proto, _model_id(model, torch_model), torch_model.config, processor, int8=int8)
        onnx.checker.check_model(proto, full_check=True)
        _save_atomically(onnx, proto, path)
    return path


class OnnxU2Net:
    """
    A U2-Net ONNX file run by onnxruntime, called like [`U2NetForImageSegmentation`]: `model(pixel_values)`
    returns a [`U2NetSegmentationOutput`] with `logits` and `side_logits` as torch tensors.

    Args:
        path (`str` or `os.PathLike`):
            An ONNX file written by [`export_onnx`] (float32 or int8).
        providers (`list[str]`, *optional*):
            onnxruntime execution providers, in order of preference. Defaults to CUDA when onnxruntime has it,
            then the CPU.
        intra_op_num_threads (`int`, *optional*):
            Threads for the CPU provider; defaults to [`default_num_threads`] (environment variable
            `U2NET_HF_NUM_THREADS`, else every core: the threads sleep rather than spin while they wait, which
            keeps onnxruntime fast on a busy machine too).
        session_options (`onnxruntime.SessionOptions`, *optional*):
            Full control over the session; `intra_op_num_threads` still applies when given.

    Example:

    ```python
    >>> import torch
    >>> from u2net_hf.onnx import OnnxU2Net, export_onnx

    >>> model = OnnxU2Net(export_onnx("u2net-lite", "u2net-lite.onnx"))
    >>> outputs = model(torch.randn(1, 3, 320, 320))
    >>> outputs.logits.shape
    torch.Size([1, 1, 320, 320])
    ```
    """

    def __init__(
        self,
        path: str | os.PathLike,
        providers: Sequence[str] | None = None,
        intra_op_num_threads: int | None = None,
        session_options=None,
    ):
        ort = _import_onnxruntime()
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ONNX file {path} does not exist; make one with `u2net-hf export-onnx`.")
        options = session_options if session_options is not None else ort.SessionOptions()
        if session_options is None:
            options.inter_op_num_threads = 1
            # Threads that spin while waiting for work steal the cores other processes need on a shared machine,
            # and gained nothing measurable here.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.log_severity_level = 3
        if intra_op_num_threads is not None or session_options is None:
            options.intra_op_num_threads = intra_op_num_threads or default_num_threads()
        if providers is None:
            available = ort.get_available_providers()
            providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        try:
            self.session = ort.InferenceSession(str(path), options, providers=list(providers))
        except Exception as error:  # onnxruntime raises its own exception types
            raise ValueError(f"onnxruntime cannot load {path}: {error}") from error

        inputs = [node.name for node in self.session.get_inputs()]
        outputs = [node.name for node in self.session.get_outputs()]
        if inputs != [INPUT_NAME] or outputs[: len(OUTPUT_NAMES)] != list(OUTPUT_NAMES):
            raise ValueError(
                f"{path} is not a U2-Net export of u2net-hf: it takes {inputs} and returns {outputs}, expected "
                f"[{INPUT_NAME!r}] and {list(OUTPUT_NAMES)}. Export it with `u2net-hf export-onnx`."
            )
        self.name_or_path = str(path)
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.config = U2NetConfig.from_dict(json.loads(self.metadata["config"])) if "config" in self.metadata else None
        self.device = torch.device("cpu")
        self.dtype = torch.float32

    @functools.cached_property
    def image_processor(self) -> U2NetImageProcessor:
        """The image processor saved in the file's metadata (the default one for files without it)."""
        if "preprocessor_config" not in self.metadata:
            return U2NetImageProcessor()
        return U2NetImageProcessor.from_dict(json.loads(self.metadata["preprocessor_config"]))

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def eval(self) -> OnnxU2Net:
        """Does nothing (an ONNX graph is always in inference mode); here so code written for the PyTorch model
        runs unchanged."""
        return self

    def __call__(self, pixel_values, return_dict: bool = True, **kwargs) -> U2NetSegmentationOutput | tuple:
        """
        Run the model.

        Args:
            pixel_values (`torch.Tensor` or `np.ndarray` of shape `(batch_size, 3, height, width)`):
                Normalized images, as produced by the image processor. Any height and width.
            return_dict (`bool`, *optional*, defaults to `True`):
                Whether to return a [`U2NetSegmentationOutput`] instead of a plain tuple.
        """
        if isinstance(pixel_values, np.ndarray):
            pixel_values = torch.from_numpy(pixel_values)
        num_channels = self.config.num_channels if self.config is not None else 3
        check_pixel_values(pixel_values, num_channels)
        array = pixel_values.detach().to(device="cpu", dtype=torch.float32).contiguous().numpy()
        logits, side_logits = self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: array})
        logits, side_logits = torch.from_numpy(logits), torch.from_numpy(side_logits)
        if not return_dict:
            return logits, side_logits
        return U2NetSegmentationOutput(logits=logits, side_logits=side_logits)

    forward = __call__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name_or_path!r}, providers={self.providers})"


def load_onnx_model(
    model=None,
    *,
    int8: bool = False,
    providers: Sequence[str | tuple[str, dict]] | None = None,
    intra_op_num_threads: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> OnnxU2Net:
    """
    An [`OnnxU2Net`] for a model spec, exporting the model to ONNX on first use and reusing the export after.

    Sessions are cached like [`load_model`]'s models: calling this again with the same file or model spec (and
    the same settings) returns the same [`OnnxU2Net`] without exporting or loading anything, until the file or
    the model folder changes.

    Args:
        model (`str`, `os.PathLike` or [`U2NetForImageSegmentation`], *optional*, defaults to `"u2net-lite"`):
            An `.onnx` file (loaded as it is), or a model spec or model as accepted by [`load_model`].
        int8 (`bool`, *optional*, defaults to `False`):
            Use the int8 export (calibrated on the default photos, see [`export_onnx`]). Not for an `.onnx`
            file, which is run as it is.
        providers (`list`, *optional*):
            onnxruntime execution providers; see [`OnnxU2Net`].
        intra_op_num_threads (`int`, *optional*):
            Threads for the CPU provider; see [`OnnxU2Net`].
        cache_dir (`str` or `os.PathLike`, *optional*):
            Where exports are kept; see [`cached_onnx_export`].

    Example:

    ```python
    >>> import torch
    >>> from u2net_hf.onnx import load_onnx_model

    >>> onnx_model = load_onnx_model("u2net-lite")  # exported once, then reused
    >>> onnx_model(torch.randn(1, 3, 320, 320)).logits.shape
    torch.Size([1, 1, 320, 320])
    ```
    """
    providers = _hashable_providers(providers)
    if is_onnx_file(model):
        path = Path(model)
        if int8:
            raise ValueError(
                f"{path} is an ONNX file, run as it is; int8 asks for the int8 export of a model: pass the model "
                "spec instead, or export one with `u2net-hf export-onnx MODEL OUT.onnx --int8`."
            )
        if not path.is_file():
            raise FileNotFoundError(f"ONNX file {path} does not exist; make one with `u2net-hf export-onnx`.")
        return _load_onnx_file_cached(str(path.resolve()), path.stat().st_mtime_ns, providers, intra_op_num_threads)
    if isinstance(model, nn.Module):
        path = cached_onnx_export(model, int8=int8, cache_dir=cache_dir)
        return OnnxU2Net(path, providers=_provider_list(providers), intra_op_num_threads=intra_op_num_threads)
    spec = None if model is None else os.fspath(model)
    stamp = _folder_stamp(resolve_model_path(spec))
    cache = os.fspath(_default_cache_dir() if cache_dir is None else cache_dir)
    return _load_exported_cached(spec, stamp, int8, cache, providers, intra_op_num_threads)


def is_onnx_file(model) -> bool:
    """Whether a model spec names an ONNX file (a path ending in `.onnx`) rather than a PyTorch model."""
    return isinstance(model, (str, os.PathLike)) and Path(model).suffix.lower() == ".onnx"


@functools.lru_cache(maxsize=4)
def _load_onnx_file_cached(path: str, mtime_ns: int, providers: tuple | None, threads: int | None) -> OnnxU2Net:
    return OnnxU2Net(path, providers=_provider_list(providers), intra_op_num_threads=threads)


@functools.lru_cache(maxsize=4)
def _load_exported_cached(
    spec: str | None, stamp: tuple, int8: bool, cache_dir: str, providers: tuple | None, threads: int | None
) -> OnnxU2Net:
    path = cached_onnx_export(spec, int8=int8, cache_dir=cache_dir)
    return OnnxU2Net(path, providers=_provider_list(providers), intra_op_num_threads=threads)


def _hashable_providers(providers) -> tuple | None:
    # Provider options are dicts: frozen into tuples for the session caches, turned back by _provider_list.
    if providers is None:
        return None
    if isinstance(providers, str):
        providers = [providers]
    return tuple(p if isinstance(p, str) else (p[0], tuple(sorted(dict(p[1]).items()))) for p in providers)


def _provider_list(providers: tuple | None) -> list | None:
    if providers is None:
        return None
    return [p if isinstance(p, str) else (p[0], dict(p[1])) for p in providers]


def providers_for_device(device: str | torch.device | None) -> list | None:
    """
    The onnxruntime execution providers that run on a PyTorch-style device: `"cpu"` the CPU provider, `"cuda"`
    or `"cuda:N"` the CUDA provider on that GPU (with the CPU provider behind it for operators it lacks);
    `None` leaves the choice to [`OnnxU2Net`] (CUDA when onnxruntime has it, else the CPU).

    Raises:
        `ValueError`: for a device onnxruntime cannot use here, saying what to do instead.
    """
    if device is None:
        return None
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"Unknown device {str(device)!r}: use 'cpu' or 'cuda' with the onnxruntime backend."
        ) from error
    if device.type == "cpu":
        return ["CPUExecutionProvider"]
    if device.type == "cuda":
        if "CUDAExecutionProvider" not in _import_onnxruntime().get_available_providers():
            raise ValueError(
                f"Device {str(device)!r} asked for, but this onnxruntime has no CUDA provider (install "
                "onnxruntime-gpu instead of onnxruntime), or run on CUDA with the torch backend."
            )
        return [("CUDAExecutionProvider", {"device_id": device.index or 0}), "CPUExecutionProvider"]
    raise ValueError(
        f"The onnxruntime backend runs on 'cpu' or 'cuda', not {str(device)!r}; use the torch backend there."
    )


def cached_onnx_export(
    model=None,
    *,
    int8: bool = False,
    opset: int = DEFAULT_OPSET,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """
    The path of the ONNX export of `model`, exporting it only when the cache has none yet.

    The file name holds a hash of the weights, the configuration, the preprocessing and the export settings,
    so a changed or fine-tuned model gets a new export, and two processes exporting at once both end with a
    complete file.

    Args:
        model (`str`, `os.PathLike` or [`U2NetForImageSegmentation`], *optional*, defaults to `"u2net-lite"`):
            A model spec or model as accepted by [`load_model`].
        int8 (`bool`, *optional*, defaults to `False`):
            The int8 export instead of the float32 one.
        opset (`int`, *optional*, defaults to 17):
            ONNX opset version.
        cache_dir (`str` or `os.PathLike`, *optional*):
            Defaults to `$U2NET_HF_CACHE/onnx`, else `$HF_HOME/u2net-hf/onnx` (`~/.cache/huggingface/u2net-hf/onnx`).
    """
    torch_model = load_model(model)
    processor = load_image_processor(model)
    key = _fingerprint(torch_model, processor, int8=int8, opset=opset)
    name = _safe_name(_model_id(model, torch_model)) or "u2net"
    path = _default_cache_dir() if cache_dir is None else Path(cache_dir)
    path = path / f"{name}-{key[:16]}{'-int8' if int8 else ''}.onnx"
    if not path.is_file():
        logger.info("Exporting %s to %s (once; later runs reuse it).", name, path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # The spec rather than the loaded model, so the file's metadata names the model.
        export_onnx(model if model is not None else torch_model, path, opset=opset, int8=int8)
    return path


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
            from .background import load_image

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
    onnx = _import_onnx()
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
        with _torch_threads(default_num_threads("torch")):
            # A few images pin the ratios down well enough: the sensitive layers stand tens of dB apart.
            for batch in pixel_values[:SNR_IMAGES]:
                folded(torch.from_numpy(batch))
    finally:
        for hook in hooks:
            hook.remove()
    return [
        (tuple(conv.weight.shape), 10 * np.log10(max(signal[conv], 1e-30) / max(noise[conv], 1e-30))) for conv in order
    ]


@contextlib.contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _fake_quantize_int8(weight: torch.Tensor) -> torch.Tensor:
    scale = weight.abs().amax(dim=tuple(range(1, weight.ndim)), keepdim=True).clamp(min=1e-12) / 127
    return torch.round(weight / scale).clamp(-127, 127) * scale


def quantize_int8(
    source: str | os.PathLike,
    target: str | os.PathLike,
    calibration: Sequence[np.ndarray],
    *,
    keep_float: Sequence[str] = (),
) -> Path:
    """
    Quantize a float32 U2-Net ONNX file to int8 with onnxruntime's static quantization: QDQ format (faster
    here than QOperator: 0.21 s against 0.24 s per lite image), per-channel int8 weights, uint8 activations
    with min-max ranges from `calibration`.

    Args:
        source (`str` or `os.PathLike`): The float32 ONNX file.
        target (`str` or `os.PathLike`): Where to write the int8 one.
        calibration (`list[np.ndarray]`): Model inputs (`pixel_values`) to calibrate on.
        keep_float (`list[str]`, *optional*):
            Names of nodes to keep in float32 (see [`int8_sensitive_convs`]).
    """
    onnx = _import_onnx()
    quantization = _import_onnxruntime_quantization()
    with tempfile.TemporaryDirectory(prefix="u2net-hf-int8-") as scratch:
        unshared = Path(scratch) / "unshared.onnx"
        onnx.save(_unshare_initializers(onnx.load(str(source))), str(unshared))
        _quantize_static(quantization, unshared, target, calibration, keep_float)
    return Path(target)


def _unshare_initializers(proto):
    """Give every `Identity` of an initializer its own copy of the tensor. The TorchScript exporter shares equal
    tensors (e.g. the zero biases of untrained convolutions) through `Identity` nodes; the quantizer leaves such
    biases in float32, and onnxruntime then runs those convolutions in float32 between a dequantize and a
    quantize: slower than no quantization at all."""
    from onnx import numpy_helper

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


def _quantize_static(quantization, source: Path, target, calibration, keep_float) -> None:
    with _quiet_onnxruntime_quantization():
        quantization.quantize_static(
            str(source),
            str(target),
            _calibration_reader(calibration, quantization.CalibrationDataReader),
            quant_format=quantization.QuantFormat.QDQ,
            op_types_to_quantize=list(INT8_OP_TYPES),
            per_channel=True,
            activation_type=quantization.QuantType.QUInt8,
            weight_type=quantization.QuantType.QInt8,
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


class _LogitsAndSideLogits(nn.Module):
    """The model with plain tensor outputs, as exporters want them."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(pixel_values, return_dict=False)


def _export_float32(model: nn.Module, path: Path, processor: U2NetImageProcessor, *, opset: int, dynamo: bool) -> None:
    if model.dtype != torch.float32 or model.device.type != "cpu" or model.training:
        model = copy.deepcopy(model).to(device="cpu", dtype=torch.float32).eval()
    wrapper = _LogitsAndSideLogits(model).eval()
    size = processor.size if processor.do_resize else {"height": 320, "width": 320}
    example = torch.randn(1, model.config.num_channels, size["height"], size["width"])
    dynamic_axes = {name: {0: "batch", 2: "height", 3: "width"} for name in (INPUT_NAME, *OUTPUT_NAMES)}
    with warnings.catch_warnings(), torch.no_grad():
        # Shape checks in forward() and the TorchScript exporter's deprecation notice: expected, not actionable.
        warnings.simplefilter("ignore")
        if dynamo:
            batch, height, width = (torch.export.Dim(name, min=1) for name in ("batch", "height", "width"))
            program = torch.onnx.export(
                wrapper,
                (example,),
                dynamo=True,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=list(OUTPUT_NAMES),
                dynamic_shapes={"pixel_values": {0: batch, 2: height, 3: width}},
                verbose=False,
            )
            program.optimize()
            program.save(str(path))
        else:
            # torch < 2.5 has no `dynamo` argument: its export is the TorchScript-based one.
            legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
            torch.onnx.export(
                wrapper,
                (example,),
                str(path),
                **legacy,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=list(OUTPUT_NAMES),
                dynamic_axes=dynamic_axes,
                do_constant_folding=True,
            )


def _set_metadata(proto, model_id: str, config: U2NetConfig, processor: U2NetImageProcessor, *, int8: bool) -> None:
    from . import __version__

    size = processor.size
    metadata = {
        "model_id": model_id,
        "model_type": "u2net",
        "precision": "int8" if int8 else "float32",
        "image_size": f"{size['height']}x{size['width']}",
        "image_mean": json.dumps(list(processor.image_mean)),
        "image_std": json.dumps(list(processor.image_std)),
        "rescale": "by_max" if processor.rescale_by_max else json.dumps(processor.rescale_factor),
        "outputs": "logits: fused map, side_logits: side maps d1..d6; both before the sigmoid",
        "preprocessor_config": processor.to_json_string(),
        "config": config.to_json_string(use_diff=False),
    }
    del proto.metadata_props[:]
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    proto.producer_name = "u2net-hf"
    proto.producer_version = __version__
    proto.doc_string = f"U2-Net {model_id} exported by u2net-hf {__version__}: salient-object segmentation."


def _save_atomically(onnx, proto, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        onnx.save(proto, temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _model_id(spec, model: nn.Module) -> str:
    if isinstance(spec, (str, os.PathLike)):
        return os.fspath(spec)
    return str(getattr(model, "name_or_path", "") or "")


def _safe_name(model_id: str) -> str:
    name = Path(model_id.rstrip("/\\")).name if model_id else ""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


def _fingerprint(model: nn.Module, processor: U2NetImageProcessor, *, int8: bool, opset: int) -> str:
    from . import __version__

    digest = hashlib.sha256()
    settings = {"int8": int8, "opset": opset, "recipe": EXPORT_RECIPE_VERSION, "u2net_hf": __version__}
    for text in (json.dumps(settings, sort_keys=True), model.config.to_json_string(), processor.to_json_string()):
        digest.update(text.encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _default_cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]) / "onnx"
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "u2net-hf" / "onnx"


def _import_onnx():
    try:
        import onnx
    except ImportError as error:
        raise RuntimeError('ONNX export needs the onnx package: pip install "u2net-hf[onnx]".') from error
    return onnx


def _import_onnxruntime():
    try:
        import onnxruntime
    except ImportError as error:
        raise RuntimeError('Running ONNX files needs onnxruntime: pip install "u2net-hf[onnx]".') from error
    return onnxruntime


def _import_onnxruntime_quantization():
    _import_onnxruntime()
    from onnxruntime import quantization

    return quantization


__all__ = [
    "DEFAULT_OPSET",
    "OnnxU2Net",
    "cached_onnx_export",
    "calibration_pixel_values",
    "export_onnx",
    "int8_sensitive_convs",
    "is_onnx_file",
    "load_onnx_model",
    "providers_for_device",
    "quantize_int8",
]
