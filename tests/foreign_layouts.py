"""Checkpoints in the layouts of other U2-Net code bases, and an independent way to run them.

`run_foreign_u2net` evaluates a U2-Net straight from a state dict in a foreign layout with plain
`torch.nn.functional` calls, written from the architecture description (RSU-L blocks pool between encoder convs
and end with a dilation-2 conv; RSU-LF blocks dilate 1, 2, 4, 8 instead; decoders take the upsampled deeper map
then the skip; max-pool 2x2 with ceil_mode; bilinear upsampling without corner alignment; side maps d1..d6 fused
by a 1x1 conv). It shares no code with `u2net_hf`'s model or converters, so a converter that maps a tensor to the
wrong place cannot agree with it by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from u2net_hf import U2NET_PRESETS


@dataclass(frozen=True)
class ForeignLayout:
    """How a code base names its tensors."""

    block: Callable[[str, int, int], str]  # (part, stage index, number of decoder stages) -> block prefix
    unit: Callable[[str, int, int], str]  # (role "in"/"enc"/"dec", level counted from the top, height) -> unit
    side: Callable[[int, int], str]  # (k for map d{k+1}, number of side maps) -> prefix
    fusion: str
    conv: str
    norm: str
    conv_has_bias: bool


UPSTREAM = ForeignLayout(  # xuebinqin/U-2-Net
    block=lambda part, index, num_decoder: (
        f"stage{index + 1}" if part == "encoder" else f"stage{num_decoder - index}d"
    ),
    unit=lambda role, level, height: {
        "in": "rebnconvin",
        "enc": f"rebnconv{level + 1}",
        "dec": f"rebnconv{level + 1}d",
    }[role],
    side=lambda k, num_sides: f"side{k + 1}",
    fusion="outconv",
    conv="conv_s1",
    norm="bn_s1",
    conv_has_bias=True,
)

REFERENCE = ForeignLayout(  # the seed document's reference implementation
    block=lambda part, index, num_decoder: f"{'encode' if part == 'encoder' else 'decode'}_modules.{index}",
    unit=lambda role, level, height: {
        "in": "conv_in",
        "enc": f"encode_modules.{level}",
        "dec": f"decode_modules.{height - 2 - level}",
    }[role],
    side=lambda k, num_sides: f"side_modules.{num_sides - 1 - k}",
    fusion="out_conv",
    conv="conv",
    norm="bn",
    conv_has_bias=False,
)


class RecordingDict(dict):
    """A state dict that remembers which tensors were read."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def _unit(tensors, layout: ForeignLayout, prefix: str, x: torch.Tensor, dilation: int) -> torch.Tensor:
    bias = tensors[f"{prefix}.{layout.conv}.bias"] if layout.conv_has_bias else None
    x = F.conv2d(x, tensors[f"{prefix}.{layout.conv}.weight"], bias, padding=dilation, dilation=dilation)
    norm = f"{prefix}.{layout.norm}"
    x = F.batch_norm(
        x,
        tensors[f"{norm}.running_mean"],
        tensors[f"{norm}.running_var"],
        tensors[f"{norm}.weight"],
        tensors[f"{norm}.bias"],
        training=False,
        eps=1e-5,
    )
    return F.relu(x)


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[2:], mode="bilinear", align_corners=False)


def _rsu(tensors, layout, block: str, x: torch.Tensor, height: int, dilated: bool) -> torch.Tensor:
    def unit(role, level, h, dilation):
        return _unit(tensors, layout, f"{block}.{layout.unit(role, level, height)}", h, dilation)

    top = unit("in", 0, x, 1)
    levels, h = [], top
    if dilated:
        dilations = [2**level for level in range(height)]
        for level in range(height):
            h = unit("enc", level, h, dilations[level])
            levels.append(h)
        for level in reversed(range(height - 1)):
            h = unit("dec", level, torch.cat([h, levels[level]], 1), dilations[level])
        return h + top
    for level in range(height - 1):
        if level > 0:
            h = F.max_pool2d(h, 2, 2, ceil_mode=True)
        h = unit("enc", level, h, 1)
        levels.append(h)
    h = unit("enc", height - 1, h, 2)
    for level in reversed(range(height - 1)):
        if level < height - 2:
            h = _up(h, levels[level])
        h = unit("dec", level, torch.cat([h, levels[level]], 1), 1)
    return h + top


def run_foreign_u2net(tensors, layout: ForeignLayout, preset: str, x: torch.Tensor) -> list[torch.Tensor]:
    """The fused map d0 then the side maps d1..d6, as logits at the input's size."""
    encoder, decoder = U2NET_PRESETS[preset]["encoder_stages"], U2NET_PRESETS[preset]["decoder_stages"]
    skips, h = [], x
    for index, (height, *_, dilated, _) in enumerate(encoder):
        if index > 0:
            h = F.max_pool2d(h, 2, 2, ceil_mode=True)
        h = _rsu(tensors, layout, layout.block("encoder", index, len(decoder)), h, height, dilated)
        skips.append(h)
    features = [skips[-1]]
    for index, (height, *_, dilated, _) in enumerate(decoder):
        skip = skips[-2 - index]
        h = torch.cat([_up(h, skip), skip], 1)
        h = _rsu(tensors, layout, layout.block("decoder", index, len(decoder)), h, height, dilated)
        features.append(h)
    features.reverse()  # finest (last decoder stage) first: d1 .. d6
    sides = []
    for k, feature in enumerate(features):
        prefix = layout.side(k, len(features))
        side = F.conv2d(feature, tensors[f"{prefix}.weight"], tensors[f"{prefix}.bias"], padding=1)
        sides.append(_up(side, x))
    fused = F.conv2d(torch.cat(sides, 1), tensors[f"{layout.fusion}.weight"], tensors[f"{layout.fusion}.bias"])
    return [fused, *sides]


def random_checkpoint(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors for every name, with trained-looking statistics: BatchNorm variances positive and away
    from 1, means and conv biases non-zero, conv weights scaled so activations stay in range."""
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for name, shape in shapes.items():
        if name.endswith("num_batches_tracked"):
            tensors[name] = torch.tensor(1000, dtype=torch.long)
        elif name.endswith("running_var"):
            tensors[name] = torch.rand(shape, generator=generator) + 0.5
        elif len(shape) == 4:
            fan_in = shape[1] * shape[2] * shape[3]
            tensors[name] = torch.randn(shape, generator=generator) * (2.0 / fan_in) ** 0.5
        elif name.endswith("norm.weight") or name.endswith("bn.weight") or name.endswith("bn_s1.weight"):
            tensors[name] = torch.rand(shape, generator=generator) + 0.5
        else:
            tensors[name] = torch.randn(shape, generator=generator) * 0.1
    return tensors
