# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""U2-Net for the Hugging Face ecosystem: `AutoModel`, `pipeline("image-segmentation")`,
`pipeline("background-removal")`, torch.hub and the Hub.

`import u2net_hf` is light: it imports neither torch nor transformers, and every public name is imported on
first use (as transformers' `_LazyModule` does), so that removing backgrounds on onnxruntime, the default on
CPUs, never loads them. U2-Net is registered with the transformers Auto classes, and the "background-removal"
pipeline task with transformers' pipelines, as soon as transformers is imported (see
[`~u2net_hf.registration.register_when_transformers_loads`]).
"""

import importlib
from typing import TYPE_CHECKING

from .registration import register_when_transformers_loads
from .version import __version__

register_when_transformers_loads()

if TYPE_CHECKING:  # the names as static tools (IDEs, type checkers, the API docs) see them
    from .configuration_u2net import U2NET_PRESETS, U2NetConfig
    from .conversion import convert_checkpoint
    from .data import SaliencyDataset, load_saliency_dataset
    from .devices import default_num_threads
    from .hub import push_to_hub
    from .image_processing_u2net import U2NetImageProcessor
    from .images import load_image, save_image
    from .metrics import SaliencyMetrics, evaluate
    from .modeling_u2net import U2NetForImageSegmentation, U2NetModel, U2NetPreTrainedModel, U2NetSegmentationOutput
    from .onnx import OnnxU2Net, export_onnx, load_onnx_model
    from .optimization import optimize_for_inference
    from .pipelines import BackgroundRemovalPipeline
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
    from .sessions import RemovalError, Session, new_session, remove_background, remove_backgrounds
    from .training import TrainResult, train

# Public name -> the module it lives in, imported when the name is first used (as transformers' _LazyModule).
_LAZY_EXPORTS = {
    "BackgroundRemovalPipeline": "pipelines",
    "OnnxU2Net": "onnx",
    "PRETRAINED_VARIANTS": "pretrained",
    "RemovalError": "sessions",
    "SaliencyDataset": "data",
    "SaliencyMetrics": "metrics",
    "Session": "sessions",
    "TrainResult": "training",
    "U2NET_PRESETS": "configuration_u2net",
    "U2NetConfig": "configuration_u2net",
    "U2NetForImageSegmentation": "modeling_u2net",
    "U2NetImageProcessor": "image_processing_u2net",
    "U2NetModel": "modeling_u2net",
    "U2NetPreTrainedModel": "modeling_u2net",
    "U2NetSegmentationOutput": "modeling_u2net",
    "add_remote_code": "registration",
    "convert_checkpoint": "conversion",
    "create_model": "pretrained",
    "default_num_threads": "devices",
    "evaluate": "metrics",
    "export_onnx": "onnx",
    "load_image": "images",
    "load_image_processor": "pretrained",
    "load_model": "pretrained",
    "load_onnx_model": "onnx",
    "load_saliency_dataset": "data",
    "new_session": "sessions",
    "optimize_for_inference": "optimization",
    "push_to_hub": "hub",
    "register_u2net": "registration",
    "remove_background": "sessions",
    "remove_backgrounds": "sessions",
    "resolve_model_path": "pretrained",
    "save_image": "images",
    "train": "training",
    "u2net_full": "pretrained",
    "u2net_lite": "pretrained",
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
