# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""torch.hub entry points.

    >>> import torch
    >>> model = torch.hub.load("u2net-hf/u2net-hf", "u2net_lite", pretrained=True)  # bundled weights, no Hub access

Each returns a `u2net_hf.U2NetForImageSegmentation`; pair it with `u2net_hf.U2NetImageProcessor()`.
"""

dependencies = ["torch", "transformers", "huggingface_hub", "safetensors", "PIL", "numpy"]

from u2net_hf.pretrained import u2net_full, u2net_lite  # noqa: E402

__all__ = ["u2net_full", "u2net_lite"]
