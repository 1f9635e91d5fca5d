# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""PyTorch U2-Net model (Qin et al., "U2-Net: Going Deeper with Nested U-Structure for Salient Object
Detection", Pattern Recognition 106, 2020).

This file imports only torch, transformers and its configuration file, so it can be saved next to
a checkpoint and loaded with `trust_remote_code=True` where `u2net_hf` is not installed.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput
from transformers.utils import ModelOutput
from transformers.utils import logging as transformers_logging

from .configuration_u2net import U2NetConfig


@dataclass
class U2NetSegmentationOutput(ModelOutput):
    """
    Output of [`U2NetForImageSegmentation`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` is given):
            Sum of the binary cross-entropy (with logits) of the fused map and of every side map.
        logits (`torch.FloatTensor` of shape `(batch_size, out_channels, height, width)`):
            The fused prediction, before the sigmoid, at the input's resolution.
        side_logits (`torch.FloatTensor` of shape `(batch_size, num_side_outputs * out_channels, height, width)`):
            The side predictions d1, d2, ... (finest first), before the sigmoid, upsampled to the input's
            resolution and stacked along the channel dimension.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*, returned when `output_hidden_states=True`):
            The stage features, exactly [`U2NetModel`]'s `hidden_states`: the decoder stages from last to first,
            then the bottleneck encoder stage (finest first), each of shape `(batch_size, channels, height_i,
            width_i)` at that stage's resolution. Asked for with `output_hidden_states=True` in the call or in
            the config; `None` otherwise.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    side_logits: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None


class U2NetConvBatchNormReLU(nn.Module):
    """3x3 convolution (no bias), batch normalization and ReLU: the unit every RSU block is made of."""

    def __init__(self, in_channels: int, out_channels: int, dilation: int, config: U2NetConfig):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False)
        self.norm = nn.BatchNorm2d(out_channels, eps=config.batch_norm_eps, momentum=config.batch_norm_momentum)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, hidden_state: torch.Tensor) -> torch.Tensor:
        return self.activation(self.norm(self.conv(hidden_state)))


def _upsample_like(hidden_state: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    return F.interpolate(hidden_state, size=reference.shape[2:], mode="bilinear", align_corners=False)


def _downsample(hidden_state: torch.Tensor) -> torch.Tensor:
    # ceil_mode keeps the border row/column of odd sizes, so every skip has a partner to upsample to.
    return F.max_pool2d(hidden_state, kernel_size=2, stride=2, ceil_mode=True)


class U2NetResidualUBlock(nn.Module):
    """
    Residual U-block RSU-L: an input convolution, then a small U-Net of depth `height` whose output is
    added to the input convolution's output. With `dilated=True` (RSU-LF) the inner U-Net keeps the
    resolution and grows the dilation (1, 2, 4, ...) instead of pooling.
    """

    def __init__(self, stage: list, config: U2NetConfig):
        super().__init__()
        height, in_channels, mid_channels, out_channels, dilated, _ = stage
        self.dilated = dilated
        self.input_conv = U2NetConvBatchNormReLU(in_channels, out_channels, 1, config)
        encoder_dilations = [2**i for i in range(height)] if dilated else [1] * (height - 1) + [2]
        decoder_dilations = list(reversed(encoder_dilations[:-1]))
        self.encoder = nn.ModuleList(
            U2NetConvBatchNormReLU(out_channels if i == 0 else mid_channels, mid_channels, dilation, config)
            for i, dilation in enumerate(encoder_dilations)
        )
        self.decoder = nn.ModuleList(
            U2NetConvBatchNormReLU(
                2 * mid_channels, out_channels if i == height - 2 else mid_channels, dilation, config
            )
            for i, dilation in enumerate(decoder_dilations)
        )

    def forward(self, hidden_state: torch.Tensor) -> torch.Tensor:
        residual = self.input_conv(hidden_state)
        skips = []
        hidden_state = residual
        last = len(self.encoder) - 1
        for index, layer in enumerate(self.encoder):
            # RSU-L pools before every encoder conv but the first and the last (dilated) one.
            if not self.dilated and 0 < index < last:
                hidden_state = _downsample(hidden_state)
            hidden_state = layer(hidden_state)
            skips.append(hidden_state)
        hidden_state = skips.pop()
        for index, layer in enumerate(self.decoder):
            skip = skips.pop()
            if not self.dilated and index > 0:
                hidden_state = _upsample_like(hidden_state, skip)
            hidden_state = layer(torch.cat([hidden_state, skip], dim=1))
        return hidden_state + residual


class U2NetPreTrainedModel(PreTrainedModel):
    config_class = U2NetConfig
    base_model_prefix = "u2net"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    supports_gradient_checkpointing = True
    _no_split_modules = ["U2NetResidualUBlock"]
    # Weights converted from files with folded batch normalization carry no step counter.
    _keys_to_ignore_on_load_missing = [r"num_batches_tracked"]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # Only torch.nn.init functions here: transformers 5 re-runs this on partially loaded modules and
        # skips tensors it already loaded only when they are written through these functions.
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5))
            if module.bias is not None:
                fan_in = module.weight[0].numel()
                nn.init.uniform_(module.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
            nn.init.zeros_(module.running_mean)
            nn.init.ones_(module.running_var)
            nn.init.zeros_(module.num_batches_tracked)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, strict: bool = True, **kwargs):
        """
        [`~PreTrainedModel.from_pretrained`], but strict by default: a checkpoint whose tensors do not all match
        the architecture in its config (missing, unexpected or mis-shaped ones) is refused with one `ValueError`
        naming them, instead of running with randomly initialised tensors in their place. `AutoModel` and
        `pipeline` load through here too.

        Args:
            strict (`bool`, *optional*, defaults to `True`):
                `False` loads what matches and initialises the rest randomly, as transformers does (fine-tuning
                from another head); `ignore_mismatched_sizes=True` also allows mis-shaped tensors.
        """
        if not strict:
            with _without_weight_loading_bar():
                return super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)
        wants_info = kwargs.pop("output_loading_info", False)
        # Mis-shaped tensors are loaded as random ones and reported, so that the check below can name them.
        allow_mismatch = kwargs.pop("ignore_mismatched_sizes", False)
        with _without_weight_loading_bar():
            model, info = super().from_pretrained(
                pretrained_model_name_or_path,
                *model_args,
                output_loading_info=True,
                ignore_mismatched_sizes=True,
                **kwargs,
            )
        problems = cls._loading_problems(info, allow_mismatch)
        if problems:
            raise ValueError(
                f"Model {str(pretrained_model_name_or_path)!r}: its weights do not match the architecture in its "
                f"config.json: {'; '.join(problems)}. Refusing to run with random tensors; pass strict=False to load "
                "it partially (for fine-tuning)."
            )
        return (model, info) if wants_info else model

    @classmethod
    def _loading_problems(cls, info: dict, allow_mismatch: bool = False) -> list[str]:
        """The tensors `from_pretrained` did not load as they are in the checkpoint, as phrases such as
        `"2 missing (fusion.bias, fusion.weight)"`; the class's ignore patterns are honoured."""
        ignored = {
            "missing": cls._keys_to_ignore_on_load_missing or [],
            "unexpected": cls._keys_to_ignore_on_load_unexpected or [],
        }
        problems = []
        for kind, patterns in ignored.items():
            keys = sorted(k for k in info.get(f"{kind}_keys") or () if not any(re.search(p, k) for p in patterns))
            if keys:
                problems.append(f"{len(keys)} {kind} ({_first(keys)})")
        mismatched = [] if allow_mismatch else sorted(info.get("mismatched_keys") or (), key=str)
        if mismatched:
            # transformers 5 reports (key, checkpoint shape, model shape); 4.x the keys alone.
            shapes = [
                item if isinstance(item, str) else f"{item[0]} {tuple(item[1])} vs {tuple(item[2])}"
                for item in mismatched
            ]
            problems.append(f"{len(shapes)} mis-shaped, checkpoint vs model ({_first(shapes)})")
        return problems

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.config.freeze_batch_norm:
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eval()
        return self


_LOADING = threading.local()
WEIGHT_LOADING_BAR = "Loading weights"


@contextlib.contextmanager
def _without_weight_loading_bar():
    """
    transformers 5 draws a "Loading weights" bar for every load, though a U2-Net checkpoint loads in a fraction of a
    second. Drop that one bar, for loads of this thread only, through transformers' tqdm hook: download bars, other
    models' bars, other threads and the user's own hook are left as they are (4.x draws no such bar).
    """
    set_hook = getattr(transformers_logging, "set_tqdm_hook", None)
    if set_hook is None or getattr(_LOADING, "active", False):
        yield
        return

    def hook(factory, args, kwargs):
        if getattr(_LOADING, "active", False) and kwargs.get("desc") == WEIGHT_LOADING_BAR:
            return transformers_logging.EmptyTqdm(*args, **kwargs)
        return previous(factory, args, kwargs) if previous is not None else factory(*args, **kwargs)

    previous = set_hook(hook)
    _LOADING.active = True
    try:
        yield
    finally:
        _LOADING.active = False
        current = set_hook(previous)
        if current is not hook:  # a hook set meanwhile by someone else stays
            set_hook(current)


def _first(items: list[str], count: int = 5) -> str:
    shown = ", ".join(items[:count])
    return shown + (f", ... {len(items) - count} more" if len(items) > count else "")


class U2NetModel(U2NetPreTrainedModel):
    """
    The U2-Net encoder-decoder without the side outputs: returns the features of every stage. `AutoModel` gives
    [`U2NetForImageSegmentation`] (the network that predicts masks); load this class directly for the features.

    It loads a full [`U2NetForImageSegmentation`] checkpoint and leaves out the side outputs and the fusion,
    quietly: their weights are not reported as unexpected.

    Args:
        config ([`U2NetConfig`]): Model configuration. Initializing with a config file does not load the
            weights; see [`~PreTrainedModel.from_pretrained`].
    """

    # The head's own tensors in a full checkpoint (`U2NetForImageSegmentation.side_convs` and `.fusion`); this
    # model has no modules of those names. Regexes, searched in the checkpoint's key names. transformers 5 also
    # copies these patterns onto a model holding this one (the head model), where they match nothing unexpected.
    _keys_to_ignore_on_load_unexpected = [r"^side_convs\.", r"^fusion\."]

    def __init__(self, config: U2NetConfig):
        super().__init__(config)
        self.encoder = nn.ModuleList(U2NetResidualUBlock(stage, config) for stage in config.encoder_stages)
        self.decoder = nn.ModuleList(U2NetResidualUBlock(stage, config) for stage in config.decoder_stages)
        self.gradient_checkpointing = False
        self.post_init()

    def _run_stage(self, stage: nn.Module, hidden_state: torch.Tensor) -> torch.Tensor:
        if self.gradient_checkpointing and self.training:
            # use_reentrant=False: the reentrant variant drops the gradients of every checkpointed stage
            # when the input does not require grad (the default on transformers 4.x).
            return self._gradient_checkpointing_func(stage.__call__, hidden_state, use_reentrant=False)
        return stage(hidden_state)

    def forward(
        self,
        pixel_values: torch.Tensor,
        return_dict: bool | None = None,
        **kwargs,
    ) -> tuple | BaseModelOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_channels, height, width)`):
                Normalized images, as produced by [`U2NetImageProcessor`]. Any height and width.

        Returns:
            [`~modeling_outputs.BaseModelOutput`]: `last_hidden_state` holds the last decoder stage's features
            at the input's resolution; `hidden_states` (always computed, since the side outputs need them)
            holds the features feeding the side outputs, finest first: the decoder stages from last to first,
            then the bottleneck encoder stage.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        check_pixel_values(pixel_values, self.config.num_channels)
        pixel_values = pixel_values.to(self.dtype)

        skips = []
        hidden_state = pixel_values
        for index, stage in enumerate(self.encoder):
            if index > 0:
                hidden_state = _downsample(hidden_state)
            hidden_state = self._run_stage(stage, hidden_state)
            skips.append(hidden_state)

        stage_features = [skips.pop()]
        for stage in self.decoder:
            skip = skips.pop()
            hidden_state = torch.cat([_upsample_like(hidden_state, skip), skip], dim=1)
            hidden_state = self._run_stage(stage, hidden_state)
            stage_features.append(hidden_state)

        hidden_states = tuple(reversed(stage_features))
        if not return_dict:
            return (hidden_states[0], hidden_states)
        return BaseModelOutput(last_hidden_state=hidden_states[0], hidden_states=hidden_states)


def check_pixel_values(pixel_values: torch.Tensor, num_channels: int) -> None:
    """Turn the mistakes a caller can make into one clear error instead of a failure deep inside a conv."""
    if not isinstance(pixel_values, torch.Tensor):
        raise TypeError(
            f"pixel_values must be a torch.Tensor of shape (batch, {num_channels}, height, width), "
            f"got {type(pixel_values).__name__}. Use U2NetImageProcessor to turn images into pixel_values."
        )
    if pixel_values.ndim != 4:
        raise ValueError(
            f"pixel_values must be 4-D (batch, {num_channels}, height, width), got shape {tuple(pixel_values.shape)}."
        )
    if pixel_values.shape[1] != num_channels:
        raise ValueError(
            f"pixel_values must have {num_channels} channels in dimension 1, got shape {tuple(pixel_values.shape)}; "
            "channels-last input needs .permute(0, 3, 1, 2)."
        )
    if min(pixel_values.shape) == 0:
        raise ValueError(f"pixel_values is empty: shape {tuple(pixel_values.shape)}.")
    if not pixel_values.is_floating_point():
        raise TypeError(f"pixel_values must be floating point, got {pixel_values.dtype}.")
    if _is_exporting():
        return
    if not torch.isfinite(pixel_values).all():
        raise ValueError("pixel_values contains NaN or infinite values.")


def _is_exporting() -> bool:
    # Data-dependent checks would be baked into a trace or break a compiled graph.
    return torch.jit.is_tracing() or torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export()


class U2NetForImageSegmentation(U2NetPreTrainedModel):
    """
    U2-Net with its side outputs and their fusion: the saliency / foreground segmentation model. This is what
    `AutoModel`, `AutoModelForImageSegmentation` and `AutoModelForSemanticSegmentation` load from any U2-Net
    checkpoint. Pass `output_hidden_states=True` for the stage features as well.

    Args:
        config ([`U2NetConfig`]): Model configuration. Initializing with a config file does not load the
            weights; see [`~PreTrainedModel.from_pretrained`].

    Example:

    ```python
    >>> import torch
    >>> from u2net_hf import U2NetConfig, U2NetForImageSegmentation

    >>> model = U2NetForImageSegmentation(U2NetConfig(preset="lite")).eval()
    >>> outputs = model(torch.randn(1, 3, 320, 320))
    >>> outputs.logits.shape, outputs.side_logits.shape
    (torch.Size([1, 1, 320, 320]), torch.Size([1, 6, 320, 320]))
    ```
    """

    def __init__(self, config: U2NetConfig):
        super().__init__(config)
        self.u2net = U2NetModel(config)
        self.side_convs = nn.ModuleList(
            nn.Conv2d(stage[3], config.out_channels, kernel_size=3, padding=1)
            for stage in config.side_output_stages()
            if stage[5]
        )
        self.fusion = nn.Conv2d(len(self.side_convs) * config.out_channels, config.out_channels, kernel_size=1)
        self.post_init()

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> tuple | U2NetSegmentationOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_channels, height, width)`):
                Normalized images, as produced by [`U2NetImageProcessor`]. Any height and width.
            labels (`torch.FloatTensor` of shape `(batch_size, out_channels, height, width)` or `(batch_size, height, width)`, *optional*):
                Ground-truth masks in [0, 1] at the input's resolution (soft labels allowed). When given, the
                loss is the sum of the binary cross-entropies of the fused map and of every side map.
            output_hidden_states (`bool`, *optional*):
                Whether to also return the stage features as `hidden_states` (the same tensors as
                [`U2NetModel`]'s `hidden_states`). Defaults to `config.output_hidden_states` (`False`).
            return_dict (`bool`, *optional*):
                Whether to return a [`U2NetSegmentationOutput`] instead of a plain tuple: `(loss, logits,
                side_logits, hidden_states)`, leaving out `loss` without `labels` and `hidden_states` unless asked
                for.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if output_hidden_states is None:
            output_hidden_states = getattr(self.config, "output_hidden_states", False)
        features = self.u2net(pixel_values, return_dict=True).hidden_states
        size = pixel_values.shape[2:]
        side_features = [f for f, stage in zip(features, self.config.side_output_stages()) if stage[5]]
        side_logits = torch.cat(
            [
                F.interpolate(conv(feature), size=size, mode="bilinear", align_corners=False)
                for conv, feature in zip(self.side_convs, side_features)
            ],
            dim=1,
        )
        logits = self.fusion(side_logits)

        loss = None
        if labels is not None:
            loss = self.compute_loss(logits, side_logits, labels)

        # The features stay out of the output unless asked for: the pipeline unbatches every output field.
        hidden_states = tuple(features) if output_hidden_states else None
        if not return_dict:
            output = (logits, side_logits) + ((hidden_states,) if hidden_states is not None else ())
            return (loss, *output) if loss is not None else output
        return U2NetSegmentationOutput(loss=loss, logits=logits, side_logits=side_logits, hidden_states=hidden_states)

    def compute_loss(self, logits: torch.Tensor, side_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Deep supervision as in the paper: the fused map and every side map each get a mean BCE."""
        if labels.ndim == 3:
            labels = labels.unsqueeze(1)
        if labels.shape[0] != logits.shape[0] or labels.shape[1:] != logits.shape[1:]:
            raise ValueError(
                f"labels must have shape {tuple(logits.shape)} (or without the channel dimension) to match the "
                f"prediction, got {tuple(labels.shape)}."
            )
        labels = labels.to(logits.dtype)
        if not _is_exporting() and ((labels < 0).any() or (labels > 1).any()):
            raise ValueError("labels must lie in [0, 1] (masks scaled to probabilities).")
        side_labels = labels.repeat(1, side_logits.shape[1] // labels.shape[1], 1, 1)
        side_losses = F.binary_cross_entropy_with_logits(side_logits, side_labels, reduction="none")
        # One mean per side map, summed with the fused map's: every map weighs the same.
        per_side_map = side_losses.unflatten(1, (-1, logits.shape[1])).mean(dim=(0, 2, 3, 4))
        return F.binary_cross_entropy_with_logits(logits, labels) + per_side_map.sum()


__all__ = [
    "U2NetForImageSegmentation",
    "U2NetModel",
    "U2NetPreTrainedModel",
    "U2NetSegmentationOutput",
]
