# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Running U2-Net ONNX files: [`OnnxU2Net`], called like the PyTorch model, and the onnxruntime providers for a
device. Needs onnxruntime only (not the `onnx` package): exporting lives in `u2net_hf.onnx.export`."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..configuration_u2net import U2NetConfig
from ..devices import default_num_threads
from ..image_processing_u2net import U2NetImageProcessor
from ..modeling_u2net import U2NetSegmentationOutput, check_pixel_values

INPUT_NAME = "pixel_values"
OUTPUT_NAMES = ("logits", "side_logits")


def import_onnx():
    """The `onnx` module, or a `RuntimeError` that says how to install it."""
    try:
        import onnx  # the PyPI package: absolute imports never resolve to this package, u2net_hf.onnx
    except ImportError as error:
        raise RuntimeError(
            'Reading and writing ONNX files needs the onnx package: pip install "u2net-hf[onnx]".'
        ) from error
    return onnx


def import_onnxruntime():
    """The `onnxruntime` module, or a `RuntimeError` that says how to install it."""
    try:
        import onnxruntime
    except ImportError as error:
        raise RuntimeError('Running ONNX files needs onnxruntime: pip install "u2net-hf[onnx]".') from error
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


def is_onnx_file(model) -> bool:
    """Whether a model spec names an ONNX file (a path ending in `.onnx`) rather than a PyTorch model."""
    return isinstance(model, (str, os.PathLike)) and Path(model).suffix.lower() == ".onnx"


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
        if "CUDAExecutionProvider" not in import_onnxruntime().get_available_providers():
            raise ValueError(
                f"Device {str(device)!r} asked for, but this onnxruntime has no CUDA provider (install "
                "onnxruntime-gpu instead of onnxruntime), or run on CUDA with the torch backend."
            )
        return [("CUDAExecutionProvider", {"device_id": device.index or 0}), "CPUExecutionProvider"]
    raise ValueError(
        f"The onnxruntime backend runs on 'cpu' or 'cuda', not {str(device)!r}; use the torch backend there."
    )


__all__ = [
    "INPUT_NAME",
    "OUTPUT_NAMES",
    "OnnxU2Net",
    "import_onnx",
    "import_onnxruntime",
    "is_onnx_file",
    "providers_for_device",
]
