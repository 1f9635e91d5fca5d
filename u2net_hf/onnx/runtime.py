# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Running U2-Net ONNX files: [`OnnxU2Net`], called like the PyTorch model, and the onnxruntime providers for a
device. Needs onnxruntime only (not the `onnx` package): exporting lives in `u2net_hf.onnx.export`.

Light: neither torch nor transformers is imported to open a file and run it on numpy arrays
([`OnnxU2Net.run`]); they are imported only when the model is called with torch tensors, or asked for its
config or its image processor as transformers objects."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..devices import default_num_threads, parse_device
from ..extras import install_hint
from ..image_transforms_u2net import U2NetTransforms

if TYPE_CHECKING:
    from ..configuration_u2net import U2NetConfig
    from ..image_processing_u2net import U2NetImageProcessor
    from ..modeling_u2net import U2NetSegmentationOutput

INPUT_NAME = "pixel_values"
OUTPUT_NAMES = ("logits", "side_logits")
# The ONNX opset of exports (here, in the light module, so that `u2net-hf export-onnx --help` shows it without
# importing torch).
DEFAULT_OPSET = 17
# Prebuilt files in a model folder (the layout transformers.js and Optimum use on the Hub): float32, int8 weights
# (for CPUs with int8 dot products) and uint8 weights (for the others, where int8 weights saturate).
PREBUILT_FILES = {"float32": "onnx/model.onnx", "int8": "onnx/model_int8.onnx", "uint8": "onnx/model_uint8.onnx"}
# Metadata key of a prebuilt file: the sha256 of the model.safetensors it was exported from, so that a folder
# whose weights changed since (saved again after fine-tuning) is never run with stale ONNX files.
WEIGHTS_SHA256_KEY = "weights_sha256"


def import_onnx():
    """The `onnx` module, or a `RuntimeError` that says how to install it."""
    try:
        import onnx  # the PyPI package: absolute imports never resolve to this package, u2net_hf.onnx
    except ImportError as error:
        raise RuntimeError(
            f"Reading and writing ONNX files needs the onnx package: {install_hint('onnx')}."
        ) from error
    return onnx


def import_onnxruntime():
    """The `onnxruntime` module, or a `RuntimeError` that says how to install it."""
    try:
        import onnxruntime
    except ImportError as error:
        raise RuntimeError(
            f"Running ONNX files needs onnxruntime, a dependency of u2net-hf: {install_hint()}."
        ) from error
    return onnxruntime


class OnnxU2Net:
    """
    A U2-Net ONNX file run by onnxruntime, called like [`U2NetForImageSegmentation`]: `model(pixel_values)`
    returns a [`U2NetSegmentationOutput`] with `logits` and `side_logits` as torch tensors.

    Args:
        path (`str` or `os.PathLike`):
            An ONNX file written by [`export_onnx`] (float32 or int8).
        providers (`list`, *optional*):
            onnxruntime execution providers, in order of preference (names, or `(name, options)` pairs).
            Defaults to CUDA when onnxruntime has it, then the CPU.
        intra_op_num_threads (`int`, *optional*):
            Threads for the CPU provider; defaults to [`~u2net_hf.devices.default_num_threads`] (environment
            variable `U2NET_HF_NUM_THREADS`, else every core: the threads sleep rather than spin while they wait,
            which keeps onnxruntime fast on a busy machine too).
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
        providers: Sequence[str | tuple[str, dict]] | None = None,
        intra_op_num_threads: int | None = None,
        session_options=None,
    ):
        ort = import_onnxruntime()
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
        elif isinstance(providers, str):
            providers = [providers]
        try:
            self.session = ort.InferenceSession(str(path), options, providers=list(providers))
        except Exception as error:  # onnxruntime raises its own exception types
            # Its messages run over several lines (a protobuf parse error, a graph check): one line here.
            raise ValueError(f"onnxruntime cannot load {path}: {' '.join(str(error).split())}") from None

        inputs = [node.name for node in self.session.get_inputs()]
        outputs = [node.name for node in self.session.get_outputs()]
        if inputs != [INPUT_NAME] or outputs[: len(OUTPUT_NAMES)] != list(OUTPUT_NAMES):
            raise ValueError(
                f"{path} is not a U2-Net export of u2net-hf: it takes {inputs} and returns {outputs}, expected "
                f"[{INPUT_NAME!r}] and {list(OUTPUT_NAMES)}. Export it with `u2net-hf export-onnx`."
            )
        self.name_or_path = str(path)
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.num_channels = (
            json.loads(self.metadata["config"]).get("num_channels", 3) if "config" in self.metadata else 3
        )

    @functools.cached_property
    def config(self) -> U2NetConfig | None:
        """The model's [`U2NetConfig`], saved in the file's metadata (`None` for files without it)."""
        from ..configuration_u2net import U2NetConfig

        return U2NetConfig.from_dict(json.loads(self.metadata["config"])) if "config" in self.metadata else None

    @functools.cached_property
    def transforms(self) -> U2NetTransforms:
        """The preprocessing saved in the file's metadata (the default one for files without it)."""
        if "preprocessor_config" not in self.metadata:
            return U2NetTransforms()
        return U2NetTransforms.from_dict(json.loads(self.metadata["preprocessor_config"]))

    @functools.cached_property
    def image_processor(self) -> U2NetImageProcessor:
        """The image processor saved in the file's metadata (the default one for files without it)."""
        from ..image_processing_u2net import U2NetImageProcessor

        if "preprocessor_config" not in self.metadata:
            return U2NetImageProcessor()
        return U2NetImageProcessor.from_dict(json.loads(self.metadata["preprocessor_config"]))

    @property
    def device(self):
        """`torch.device("cpu")`: where torch inputs go before they are handed to onnxruntime."""
        import torch

        return torch.device("cpu")

    @property
    def dtype(self):
        import torch

        return torch.float32

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
        import torch

        from ..modeling_u2net import U2NetSegmentationOutput

        if isinstance(pixel_values, torch.Tensor):
            pixel_values = pixel_values.detach().to(device="cpu", dtype=torch.float32).numpy()
        logits, side_logits = (torch.from_numpy(output) for output in self.run(pixel_values))
        if not return_dict:
            return logits, side_logits
        return U2NetSegmentationOutput(logits=logits, side_logits=side_logits)

    forward = __call__

    def run(self, pixel_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """
        Run the model on numpy arrays, without torch.

        Args:
            pixel_values (`np.ndarray` of shape `(batch_size, 3, height, width)`):
                Normalized images (see [`~u2net_hf.image_transforms_u2net.U2NetTransforms`]).

        Returns:
            `tuple[np.ndarray, np.ndarray]`: the fused logits `(batch_size, 1, height, width)` and the side logits
            `(batch_size, 6, height, width)`, float32.
        """
        if not isinstance(pixel_values, np.ndarray):
            raise TypeError(
                f"pixel_values must be an array of shape (batch, {self.num_channels}, height, width), got "
                f"{type(pixel_values).__name__}. Use U2NetImageProcessor to turn images into pixel_values."
            )
        if not np.issubdtype(pixel_values.dtype, np.floating):
            raise TypeError(f"pixel_values must be floating point, got {pixel_values.dtype}.")
        array = np.ascontiguousarray(pixel_values, dtype=np.float32)
        if array.ndim != 4 or array.shape[1] != self.num_channels or min(array.shape) == 0:
            raise ValueError(
                f"pixel_values must be 4-D (batch, {self.num_channels}, height, width), got shape {tuple(array.shape)}."
            )
        if not np.isfinite(array).all():
            raise ValueError("pixel_values contains NaN or infinite values.")
        try:
            logits, side_logits = self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: array})
        except Exception as error:  # onnxruntime's own exception types derive from Exception alone
            raise RuntimeError(f"onnxruntime failed on {self.name_or_path}: {' '.join(str(error).split())}") from None
        return logits, side_logits

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name_or_path!r}, providers={self.providers})"


def open_onnx_file(path: str | os.PathLike, *, int8: bool = False, **options) -> OnnxU2Net:
    """
    Open an `.onnx` file as it is; `options` are those of [`OnnxU2Net`].

    Raises:
        `ValueError`: for `int8=True` (a file runs as it was saved), or a file onnxruntime cannot load.
    """
    path = Path(path)
    if int8:
        raise ValueError(
            f"{path} is an ONNX file, run as it is; int8 asks for the int8 export of a model: pass the model "
            "spec instead, or export one with `u2net-hf export-onnx MODEL OUT.onnx --int8`."
        )
    return OnnxU2Net(path.resolve() if path.is_file() else path, **options)  # a missing file named as given


def prebuilt_onnx_file(folder: str | os.PathLike, *, int8: bool = False, **options) -> OnnxU2Net | None:
    """
    The ONNX file shipped in a model folder for this machine (see `PREBUILT_FILES`: for `int8`, int8 weights
    where the CPU has int8 dot products, else uint8 weights), opened; `None` when the folder has none, or when
    its weights changed since the file was made.

    Args:
        folder (`str` or `os.PathLike`):
            A model folder (`config.json`, `model.safetensors`).
        int8 (`bool`, *optional*, defaults to `False`):
            The int8 file instead of the float32 one.
        options:
            Those of [`OnnxU2Net`].
    """
    from ..devices import cpu_has_int8_dot_product

    folder = Path(folder)
    kind = ("int8" if cpu_has_int8_dot_product() else "uint8") if int8 else "float32"
    path, weights = folder / PREBUILT_FILES[kind], folder / "model.safetensors"
    if not path.is_file() or not weights.is_file():
        return None
    model = OnnxU2Net(path, **options)
    if model.metadata.get(WEIGHTS_SHA256_KEY) != file_sha256(weights):
        return None
    preprocessing = folder / "preprocessor_config.json"
    if preprocessing.is_file():  # the folder's own settings, should they have been edited since the export
        model.transforms = U2NetTransforms.from_dict(json.loads(preprocessing.read_text(encoding="utf-8")))
    return model


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file, read in chunks (a full-size checkpoint is 176 MB)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def is_onnx_file(model) -> bool:
    """Whether a model spec names an ONNX file (a path ending in `.onnx`) rather than a PyTorch model."""
    return isinstance(model, (str, os.PathLike)) and Path(model).suffix.lower() == ".onnx"


def providers_for_device(device) -> list | None:
    """
    The onnxruntime execution providers that run on a PyTorch-style device: `"cpu"` the CPU provider, `"cuda"`
    or `"cuda:N"` the CUDA provider on that GPU (with the CPU provider behind it for operators it lacks);
    `None` leaves the choice to [`OnnxU2Net`] (CUDA when onnxruntime has it, else the CPU).

    Raises:
        `ValueError`: for a device onnxruntime cannot use here, saying what to do instead.
    """
    if device is None:
        return None
    name, device = str(device), parse_device(device)
    if device.type == "cpu":
        return ["CPUExecutionProvider"]
    if device.type == "cuda":
        if "CUDAExecutionProvider" not in import_onnxruntime().get_available_providers():
            raise ValueError(
                f"Device {name!r} asked for, but this onnxruntime has no CUDA provider (install "
                "onnxruntime-gpu instead of onnxruntime), or run on CUDA with the torch backend."
            )
        return [("CUDAExecutionProvider", {"device_id": device.index or 0}), "CPUExecutionProvider"]
    raise ValueError(f"The onnxruntime backend runs on 'cpu' or 'cuda', not {name!r}; use the torch backend there.")


__all__ = [
    "DEFAULT_OPSET",
    "INPUT_NAME",
    "OUTPUT_NAMES",
    "PREBUILT_FILES",
    "WEIGHTS_SHA256_KEY",
    "OnnxU2Net",
    "file_sha256",
    "import_onnx",
    "import_onnxruntime",
    "is_onnx_file",
    "open_onnx_file",
    "prebuilt_onnx_file",
    "providers_for_device",
]
