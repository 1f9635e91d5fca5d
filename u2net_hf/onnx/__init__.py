# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""ONNX export of U2-Net (float32 or int8), and an onnxruntime model that is called like the PyTorch one.

Needs the `onnx` extra: `pip install -e ".[onnx]"` in a clone. One module per concern:

- `u2net_hf.onnx.runtime`: [`OnnxU2Net`] and the onnxruntime providers of a device (needs onnxruntime only);
- `u2net_hf.onnx.export`: [`export_onnx`], the export cache ([`cached_onnx_export`]) and [`load_onnx_model`];
- `u2net_hf.onnx.quantize`: the int8 recipe (calibration, sensitive convolutions, graph rewrites, static quantization).

Neither `onnx` nor `onnxruntime` (nor torch) is imported until a function needs it.
"""

import importlib
from typing import TYPE_CHECKING

from .runtime import (
    DEFAULT_OPSET,
    INPUT_NAME,
    OUTPUT_NAMES,
    OnnxU2Net,
    import_onnx,
    import_onnxruntime,
    is_onnx_file,
    providers_for_device,
)

# Exporting and quantizing need torch (and onnx): imported when one of their names is first used, so that
# running a file (`u2net_hf.onnx.runtime`) stays light.
_LAZY_EXPORTS = {
    **dict.fromkeys(
        ("CACHE_ENV", "EXPORT_RECIPE_VERSION", "cached_onnx_export", "export_onnx", "load_onnx_model"),
        "export",
    ),
    **dict.fromkeys(
        (
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
        ),
        "quantize",
    ),
}

if TYPE_CHECKING:  # the names as static tools (IDEs, type checkers, the API docs) see them
    from .export import CACHE_ENV, EXPORT_RECIPE_VERSION, cached_onnx_export, export_onnx, load_onnx_model
    from .quantize import (
        DEFAULT_CALIBRATION_PHOTOS,
        INT8_MIN_WEIGHT_SNR_DB,
        INT8_OP_TYPES,
        SNR_IMAGES,
        WIDE_CONV_CHANNELS,
        calibration_pixel_values,
        first_stage_activations,
        int8_sensitive_convs,
        int8_weight_type,
        quantize_int8,
    )


def __getattr__(name: str):
    if name in _LAZY_EXPORTS:
        return getattr(importlib.import_module(f".{_LAZY_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CACHE_ENV",
    "DEFAULT_CALIBRATION_PHOTOS",
    "DEFAULT_OPSET",
    "EXPORT_RECIPE_VERSION",
    "INPUT_NAME",
    "INT8_MIN_WEIGHT_SNR_DB",
    "INT8_OP_TYPES",
    "OUTPUT_NAMES",
    "SNR_IMAGES",
    "WIDE_CONV_CHANNELS",
    "OnnxU2Net",
    "cached_onnx_export",
    "calibration_pixel_values",
    "export_onnx",
    "first_stage_activations",
    "import_onnx",
    "import_onnxruntime",
    "int8_sensitive_convs",
    "int8_weight_type",
    "is_onnx_file",
    "load_onnx_model",
    "providers_for_device",
    "quantize_int8",
]
