# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Compositing: what a background-removal call does with the model's foreground probability.

The options of a removal ([`RemoveOptions`]: mask alone, background colour, hard threshold, output format) and
the compositing itself ([`compose`]: the mask, a straight-alpha cut-out, or the cut-out over a colour). No model
and no file here: a session ([`~u2net_hf.new_session`]) runs the model and calls these.

`remove_background`, `remove_backgrounds`, `load_image`, `resolve_device` and `png_save_options` used to live here
and can still be imported from this module; they live in `u2net_hf.sessions`, `u2net_hf.images` and
`u2net_hf.devices` now.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import PIL.Image
import PIL.ImageColor

Color = str | Sequence[int]


def parse_color(color: Color) -> tuple[int, ...]:
    """
    Read a colour given as `(r, g, b)`, `(r, g, b, a)` (integers in 0-255) or a string Pillow understands
    (`"#fff"`, `"#ffffff"`, `"#ffffff80"`, `"white"`, `"rgb(255, 0, 0)"`).

    Returns:
        `tuple[int, ...]`: 3 values (opaque colour) or 4 (with alpha).

    Example:

    ```python
    >>> from u2net_hf.background import parse_color

    >>> parse_color("#ff000080"), parse_color((0, 0, 255))
    ((255, 0, 0, 128), (0, 0, 255))
    ```
    """
    if isinstance(color, str):
        try:
            return tuple(PIL.ImageColor.getrgb(color.strip()))
        except ValueError as error:
            raise ValueError(
                f"Unknown colour {color!r}: give R G B or R G B A (0-255), or a hex code such as '#ffffff'."
            ) from error
    values = tuple(color)
    if len(values) not in (3, 4) or not all(
        isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value <= 255 for value in values
    ):
        raise ValueError(
            f"A colour is 3 or 4 integers in 0-255 (R G B or R G B A), got {values!r}; hex codes such as '#ffffff' "
            "work too."
        )
    return tuple(int(value) for value in values)


@dataclass(frozen=True)
class RemoveOptions:
    """
    The options of a background removal, checked once.

    Args:
        mask_only (`bool`, *optional*, defaults to `False`):
            Return the mask alone, as an 8-bit grayscale ("L") image: 255 is foreground.
        bg_color (`tuple[int, ...]`, *optional*):
            Composite the cut-out onto this colour (3 values: opaque RGB result; 4: RGBA).
        threshold (`float`, *optional*):
            Make the alpha hard at this foreground probability; soft (the probability) when `None`.
        output_format (`str`, *optional*):
            Return encoded bytes in this Pillow format (`"png"`, `"webp"`, ...) instead of the input's kind.
        compress_level (`int`, *optional*):
            PNG only: zlib's usual strategy at this level (0-9) instead of the fast run-length default.
    """

    mask_only: bool = False
    bg_color: tuple[int, ...] | None = None
    threshold: float | None = None
    output_format: str | None = None
    compress_level: int | None = None

    @classmethod
    def create(
        cls,
        mask_only: bool = False,
        bg_color: Color | None = None,
        threshold: float | None = None,
        output_format: str | None = None,
        compress_level: int | None = None,
    ) -> RemoveOptions:
        """Check the options as a caller gives them and read the colour; one-line `ValueError`s otherwise."""
        if mask_only and bg_color is not None:
            raise ValueError("mask_only and bg_color cannot be combined: a mask has no background to colour.")
        if threshold is not None and not (
            isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and 0 <= threshold <= 1
        ):
            raise ValueError(f"threshold is a foreground probability in [0, 1], got {threshold!r}.")
        if output_format is not None:
            output_format = _check_output_format(output_format)
        if compress_level is not None and (
            isinstance(compress_level, bool) or not isinstance(compress_level, int) or not 0 <= compress_level <= 9
        ):
            raise ValueError(f"compress_level is a zlib level from 0 to 9, got {compress_level!r}.")
        color = parse_color(bg_color) if bg_color is not None else None
        return cls(
            bool(mask_only), color, None if threshold is None else float(threshold), output_format, compress_level
        )

    @property
    def has_alpha(self) -> bool:
        """Whether results carry transparency (which JPEG, say, cannot store)."""
        return not self.mask_only and (self.bg_color is None or len(self.bg_color) == 4)


def _check_output_format(name: str) -> str:
    PIL.Image.init()
    fmt = str(name).upper().lstrip(".")
    fmt = PIL.Image.registered_extensions().get(f".{fmt.lower()}", fmt)
    if fmt not in PIL.Image.SAVE:
        raise ValueError(f"Unknown output format {name!r}: use 'png' or 'webp' (or another format Pillow writes).")
    return fmt


def compose(
    rgb: np.ndarray,
    probability: np.ndarray,
    options: RemoveOptions,
    *,
    alpha: np.ndarray | None = None,
    icc_profile: bytes | None = None,
) -> PIL.Image.Image:
    """
    Turn an image's foreground probability into the result `options` ask for.

    Args:
        rgb (`np.ndarray` of shape `(height, width, 3)`, uint8):
            The image's pixels.
        probability (`np.ndarray` of shape `(height, width)`):
            The foreground probability in [0, 1], at the image's size.
        options ([`RemoveOptions`]):
            What to make.
        alpha (`np.ndarray` of shape `(height, width)`, uint8, *optional*):
            The image's own alpha channel: the cut-out's alpha is the mask times it.
        icc_profile (`bytes`, *optional*):
            Kept on cut-outs, whose colour channels are the input's own.

    Returns:
        `PIL.Image.Image`: an "L" mask, an RGBA cut-out (the input's own colours wherever the alpha is above 0,
        black where it is 0, as nothing shows there), or the cut-out over `bg_color` (RGB or RGBA).
    """
    if options.threshold is not None:
        mask = np.where(probability > options.threshold, np.uint8(255), np.uint8(0))
    else:
        mask = np.rint(probability * 255).astype(np.uint8)
    if options.mask_only:
        return PIL.Image.fromarray(mask, mode="L")

    alpha = mask if alpha is None else _multiply(mask, alpha)
    if options.bg_color is None:
        result = PIL.Image.fromarray(np.dstack([_visible_colour(rgb, alpha), alpha]), mode="RGBA")
    else:
        result = _over_color(rgb, alpha, options.bg_color)
    if icc_profile:
        result.info["icc_profile"] = icc_profile
    return result


def _visible_colour(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The colour channels of a straight-alpha cut-out: the input's own pixels wherever any of them shows, so
    that soft edges keep their colour instead of fading to the dark halos of a premultiplied composite; black
    where the alpha is 0 and nothing shows, which halves the PNG and the time to encode it."""
    return np.where(alpha[..., None] > 0, rgb, np.uint8(0))


def _multiply(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.rint(first.astype(np.float32) * second.astype(np.float32) / 255).astype(np.uint8)


def _over_color(rgb: np.ndarray, alpha: np.ndarray, color: tuple[int, ...]) -> PIL.Image.Image:
    """Porter-Duff "over": the cut-out over a plain background of `color` (RGB, or RGBA when 4 values)."""
    foreground_alpha = alpha.astype(np.float32)[..., None] / 255
    background = np.asarray(color[:3], dtype=np.float32)
    background_alpha = color[3] / 255 if len(color) == 4 else 1.0
    weight = (1 - foreground_alpha) * background_alpha
    out_alpha = foreground_alpha + weight
    color_sum = rgb.astype(np.float32) * foreground_alpha + background * weight
    out_rgb = np.divide(color_sum, out_alpha, out=np.zeros_like(color_sum), where=out_alpha > 0)
    out_rgb = np.clip(np.rint(out_rgb), 0, 255).astype(np.uint8)
    if len(color) == 3:
        return PIL.Image.fromarray(out_rgb, mode="RGB")
    out_alpha = np.rint(out_alpha[..., 0] * 255).astype(np.uint8)
    return PIL.Image.fromarray(np.dstack([out_rgb, out_alpha]), mode="RGBA")


# Names that moved out of this module, still importable from it (PEP 562) for code written against older
# releases. Looked up only when asked for, so that this module imports no model code.
_MOVED = {
    "remove_background": "sessions",
    "remove_backgrounds": "sessions",
    "BACKENDS": "sessions",
    "load_image": "images",
    "png_save_options": "images",
    "resolve_device": "devices",
}


def __getattr__(name: str):
    if name in _MOVED:
        return getattr(importlib.import_module(f"u2net_hf.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Color", "RemoveOptions", "compose", "parse_color"]
