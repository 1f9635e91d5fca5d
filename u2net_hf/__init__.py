# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""U2-Net for the Hugging Face ecosystem: `AutoModel`, `pipeline("image-segmentation")`,
`pipeline("background-removal")`, torch.hub and the Hub.

Importing the package registers U2-Net with the transformers Auto classes and registers the "background-removal"
pipeline task (its module is small; the sessions it runs on are imported when a pipeline is first made). The model trio, the registration
and the model specs are imported at once; everything else (sessions, background removal, ONNX, conversion,
the Hub, fine-tuning) is imported on first use.
"""

import importlib

from .configuration_u2net import U2NET_PRESETS, U2NetConfig
from .image_processing_u2net import U2NetImageProcessor
from .modeling_u2net import (
    U2NetForImageSegmentation,
    U2NetModel,
    U2NetPreTrainedModel,
    U2NetSegmentationOutput,
)
from .pretrained import (
    PRETRAINED_VARIANTS,
    create_model,
    load_image_processor,
    load_model,
    resolve_model_path,
    u2net_full,
    u2net_lite,
)
from .registration import add_remote_code, register_u2net
from .version import __version__

register_u2net()

# Public name -> the module it lives in, imported when the name is first used (as transformers' _LazyModule).
_LAZY_EXPORTS = {
    "BackgroundRemovalPipeline": "pipelines",
    "OnnxU2Net": "onnx",
    "RemovalError": "sessions",
    "SaliencyDataset": "data",
    "SaliencyMetrics": "metrics",
    "Session": "sessions",
    "TrainResult": "training",
    "convert_checkpoint": "conversion",
    "default_num_threads": "devices",
    "evaluate": "metrics",
    "export_onnx": "onnx",
    "load_image": "images",
    "load_onnx_model": "onnx",
    "load_saliency_dataset": "data",
    "new_session": "sessions",
    "optimize_for_inference": "optimization",
    "push_to_hub": "hub",
    "remove_background": "sessions",
    "remove_backgrounds": "sessions",
    "save_image": "images",
    "train": "training",
}


def __getattr__(name: str):
    if name in _LAZY_EXPORTS:
        return getattr(importlib.import_module(f".{_LAZY_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_EXPORTS))


__all__ = [
    "PRETRAINED_VARIANTS",
    "U2NET_PRESETS",
    "BackgroundRemovalPipeline",
    "OnnxU2Net",
    "RemovalError",
    "SaliencyDataset",
    "SaliencyMetrics",
    "Session",
    "TrainResult",
    "U2NetConfig",
    "U2NetForImageSegmentation",
    "U2NetImageProcessor",
    "U2NetModel",
    "U2NetPreTrainedModel",
    "U2NetSegmentationOutput",
    "__version__",
    "add_remote_code",
    "convert_checkpoint",
    "create_model",
    "default_num_threads",
    "evaluate",
    "export_onnx",
    "load_image",
    "load_image_processor",
    "load_model",
    "load_onnx_model",
    "load_saliency_dataset",
    "new_session",
    "optimize_for_inference",
    "push_to_hub",
    "register_u2net",
    "remove_background",
    "remove_backgrounds",
    "resolve_model_path",
    "save_image",
    "train",
    "u2net_full",
    "u2net_lite",
]
