# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""A faster PyTorch inference mode (batch normalization folded into the convolutions, channels-last memory
layout, optionally `torch.compile`). The training model is never touched: the optimized model is a copy. The
thread policy for CPU inference (`default_num_threads`) lives in `u2net_hf.devices`."""

from __future__ import annotations

import copy
import os

import torch
from torch import nn

# The thread policy lives in devices.py; importable from here too, where it used to live.
from .devices import NUM_THREADS_ENV, default_num_threads
from .modeling_u2net import U2NetConvBatchNormReLU


def optimize_for_inference(
    model,
    *,
    channels_last: bool = True,
    compile: bool = False,
    compile_kwargs: dict | None = None,
) -> nn.Module:
    """
    Return a copy of a U2-Net model made for inference: every convolution absorbs the batch normalization
    that follows it, the weights use the channels-last memory layout, and the copy can be compiled.

    The copy gives the same probabilities as the eager model to within 1e-4 (float32 rounding: folding
    reorders a multiply and an add). The model passed in is not modified and can keep training; the copy
    has no batch normalization left, its parameters do not require gradients, and it is meant for inference
    only.

    Args:
        model (`str`, `os.PathLike` or [`U2NetForImageSegmentation`]):
            The model, or a model spec as accepted by [`load_model`] (`"u2net-lite"`, a folder, a Hub repo id).
        channels_last (`bool`, *optional*, defaults to `True`):
            Store the convolution weights channels-last (NHWC). On CPU this lets oneDNN skip a layout
            conversion around every convolution; the input can stay a normal NCHW tensor.
        compile (`bool`, *optional*, defaults to `False`):
            Wrap the copy in `torch.compile`. Faster again once compiled, but the first call compiles for a
            long while (about 150 s for the lite model on a 2-core CPU), and again for every new input shape
            unless `compile_kwargs={"dynamic": True}`.
        compile_kwargs (`dict`, *optional*):
            Extra keyword arguments for `torch.compile` (e.g. `{"mode": "max-autotune"}`).

    Returns:
        `torch.nn.Module`: a new module in eval mode, called like the original (`model(pixel_values)` returns a
        [`U2NetSegmentationOutput`]); with `compile=True`, the compiled wrapper of that module.

    Example:

    ```python
    >>> import torch
    >>> from u2net_hf import load_model
    >>> from u2net_hf.optimization import optimize_for_inference

    >>> model = load_model("u2net-lite")
    >>> fast_model = optimize_for_inference(model)
    >>> with torch.inference_mode():
    ...     logits = fast_model(torch.randn(1, 3, 320, 320)).logits
    ```
    """
    from .pretrained import load_model

    source = load_model(model) if isinstance(model, (str, os.PathLike)) else model
    if not isinstance(source, nn.Module):
        raise TypeError(f"Expected a U2-Net model or a model spec, got {type(model).__name__}.")
    optimized = copy.deepcopy(source).eval()
    fold_batch_norm_(optimized)
    optimized.requires_grad_(False)
    if channels_last:
        optimized = optimized.to(memory_format=torch.channels_last)
    if compile:
        optimized = torch.compile(optimized, **(compile_kwargs or {}))
    return optimized


def fold_batch_norm_(model: nn.Module) -> nn.Module:
    """
    Fold, in place, the batch normalization of every conv-BN-ReLU unit into its convolution, using the
    running statistics (as in eval mode). The normalization layers become `nn.Identity`.

    Args:
        model (`torch.nn.Module`):
            A U2-Net model, or any module holding [`U2NetConvBatchNormReLU`] units. Modified in place: call it
            on a copy (as [`optimize_for_inference`] does) unless the model is not needed for training anymore.

    Returns:
        `torch.nn.Module`: the same `model`, for chaining.
    """
    for unit in model.modules():
        if isinstance(unit, U2NetConvBatchNormReLU) and isinstance(unit.norm, nn.BatchNorm2d):
            unit.conv = fold_conv_batch_norm(unit.conv, unit.norm)
            unit.norm = nn.Identity()
    return model


@torch.no_grad()
def fold_conv_batch_norm(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> nn.Conv2d:
    """A new convolution (with bias) computing `norm(conv(x))` for eval-mode `norm`."""
    # Fold in float64 so half-precision models lose no more than their own rounding.
    scale = norm.weight.double() / torch.sqrt(norm.running_var.double() + norm.eps)
    weight = conv.weight.double() * scale.reshape(-1, 1, 1, 1)
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
    bias = (bias - norm.running_mean.double()) * scale + norm.bias.double()

    folded = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=True,
        padding_mode=conv.padding_mode,
        device=conv.weight.device,
        dtype=conv.weight.dtype,
    )
    folded.weight.copy_(weight)
    folded.bias.copy_(bias)
    return folded


__all__ = [
    "NUM_THREADS_ENV",
    "default_num_threads",
    "fold_batch_norm_",
    "fold_conv_batch_norm",
    "optimize_for_inference",
]
