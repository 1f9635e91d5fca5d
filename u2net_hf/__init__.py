# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""U2-Net for the Hugging Face ecosystem: `AutoModel`, `pipeline("image-segmentation")`, torch.hub and the Hub."""

from .configuration_u2net import U2NET_PRESETS, U2NetConfig
from .image_processing_u2net import U2NetImageProcessor
from .modeling_u2net import (
    U2NetForImageSegmentation,
    U2NetModel,
    U2NetPreTrainedModel,
    U2NetSegmentationOutput,
)
from .registration import register_u2net

__version__ = "0.1.0"

register_u2net()

__all__ = [
    "U2NET_PRESETS",
    "U2NetConfig",
    "U2NetForImageSegmentation",
    "U2NetImageProcessor",
    "U2NetModel",
    "U2NetPreTrainedModel",
    "U2NetSegmentationOutput",
    "register_u2net",
]
