# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""U2-Net for the Hugging Face ecosystem: `AutoModel`, `pipeline("image-segmentation")`, torch.hub and the Hub."""

import importlib

from .background import load_image, remove_background, remove_backgrounds
from .configuration_u2net import U2NET_PRESETS, U2NetConfig
from .conversion import convert_checkpoint
from .hub import push_to_hub
from .image_processing_u2net import U2NetImageProcessor
from .modeling_u2net import (
    U2NetForImageSegmentation,
    U2NetModel,
    U2NetPreTrainedModel,
    U2NetSegmentationOutput,
)
from .onnx import OnnxU2Net, export_onnx, load_onnx_model
from .optimization import default_num_threads, optimize_for_inference
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

__version__ = "0.1.0"

register_u2net()

# Fine-tuning pulls in the Trainer and accelerate: import it only when asked for.
_LAZY_EXPORTS = {
    "SaliencyDataset": "data",
    "SaliencyMetrics": "metrics",
    "TrainResult": "training",
    "evaluate": "metrics",
    "load_saliency_dataset": "data",
    "train": "training",
}


def __getattr__(name: str):
    if name in _LAZY_EXPORTS:
        return getattr(importlib.import_module(f".{_LAZY_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PRETRAINED_VARIANTS",
    "U2NET_PRESETS",
    "OnnxU2Net",
    "SaliencyDataset",
    "SaliencyMetrics",
    "TrainResult",
    "U2NetConfig",
    "U2NetForImageSegmentation",
    "U2NetImageProcessor",
    "U2NetModel",
    "U2NetPreTrainedModel",
    "U2NetSegmentationOutput",
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
    "optimize_for_inference",
    "push_to_hub",
    "register_u2net",
    "remove_background",
    "remove_backgrounds",
    "resolve_model_path",
    "train",
    "u2net_full",
    "u2net_lite",
]
