# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Edges: alpha matting, colour decontamination and mask post-processing (rembg's `-a`, `-dc` and `-ppm`).

- [`solve_matte`]: closed-form alpha matting (pymatting's matting Laplacian) of every pixel the model is not all
  but certain of, against the pixels it is certain of, at a bounded cost: tile by tile, at no more than
  [`MATTING_MAX_PIXELS`], brought back to full size by a guided filter that follows the photo's own edges.
- [`estimate_alpha`] (rembg's `-a`): that matte inside the unknown band of the trimap rembg makes (the mask
  thresholded at 240 and 10, both sides eroded by 10 px), the model's soft alpha outside it. The matte is solved
  over a wider band than the trimap's on purpose: the pixels rembg's trimap calls confident but the model is not
  certain of (a semi-transparent scarf at 0.97, faint strands at 0.03) are not nailed to 0 or 1 at the band's
  edges, which is what spoils rembg's matte inside the band.
- [`estimate_foreground`]: the true colours of the foreground under a soft alpha (pymatting's
  `estimate_foreground_ml`), so that soft edges and hair lose the colour of the old background; only where the
  alpha is soft (in the box around those pixels), at full resolution, unmixed with the matte when one is given
  (rembg's `-dc` unmixes with the model's alpha, and is only as good as that alpha).
- [`post_process_mask`]: rembg's clean-up (an opening, a Gaussian blur of sigma 2, a threshold at one half)
  decides what is subject, but the model's soft alpha joined to it is kept instead of being made hard.

Nothing here falls back silently: an image whose matte cannot be solved keeps the model's alpha, and a
[`MattingWarning`] names the image and says so. pymatting (and through it numba and scipy) is imported only when
matting or colour estimation runs: `pip install -e ".[matting]"` in a clone; [`post_process_mask`] needs only scipy.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import warnings
from collections.abc import Iterator

import numpy as np
import PIL.Image
import PIL.ImageFilter

from .extras import install_hint

MATTING_MAX_PIXELS = 500_000
"""The largest image, in pixels, whose matte is solved at full resolution; larger ones (a 1080p frame, a 12 MP
photo) are solved at this many pixels and brought back to full size by a guided filter. On the benchmark's
composites a smaller working size is no worse (12 MP: SAD 312 solved at 1 MP, 306 at 0.5 MP, 286 at 0.25 MP: the
guided filter restores the detail, bringing the true matte back from 1 MP within 1% of the band's error) and
faster; 0.5 MP leaves a margin for strands finer than the composites'."""

INSTALL_HINT = install_hint("matting")

# Tiles of the working image that hold unknown pixels are solved one by one, so that memory stays at about
# 300 MB whatever the photo's shape. A photo solved at MATTING_MAX_PIXELS is a single tile up to an aspect of
# about 2:1: tiles solved apart disagree where they meet, and with a faint prior and a wide band the seam shows
# (256-pixel tiles drew a line across chelsea's chest), and their mattes are worse (160-pixel tiles with 32-pixel
# margins: SAD 349 against 306 at 12 MP on bench_edges' composite). The margin gives a tile of a long image the
# confident pixels on both sides of a typical uncertain band.
_TILE = 1024
_TILE_MARGIN = 64
# Weight of the model's alpha as a prior inside the unknown band, against the matting Laplacian: only enough that
# the system is positive definite. Any more pulls the middle of a wide band towards the model's alpha, which is
# what matting is there to correct (1e-4 and 1e-5: SAD 466 and 325 at 12 MP, against 307 at 1e-7).
_PRIOR_WEIGHT = 1e-7
# The 8-bit levels the model is certain of: the matte is solved over everything between them.
_CERTAIN_FOREGROUND, _CERTAIN_BACKGROUND = 254, 1
# Certain pixels under this share of the confident ones are a speck, too few to solve against: matted against a
# face's 8 certain pixels (of 21,000 confident ones), the textured face sank to 0.3. A certain core 3% the size of a
# confident veil is enough (the veil is solved from it); the gallery's photos have 0.58-0.94.
_MIN_CERTAIN_SHARE = 0.005
_CG_MAX_ITERATIONS = 2000
# An alpha is stored in 8 bits: a relative residual of 1e-5 is below a level and takes far fewer iterations
# than pymatting's 1e-7; a sparser factorization (pymatting's default discards below 1e-4) is cheaper.
_CG_TOLERANCE = 1e-5
_ICHOL_DISCARD_THRESHOLD = 1e-3
# With a prior this faint the factorization without a diagonal shift nearly always fails, and each failed try costs
# as much as a success: starting at 1e-3 halves the time of a 1080p matte, at the same error.
_ICHOL_SHIFTS = [1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0]
# The guided filter that brings a matte solved at a lower resolution back to full size (He et al., "Fast Guided
# Filter", 2015): a window of 2 * radius + 1 working pixels; eps on colours in [0, 1].
_GUIDED_RADIUS = 1
_GUIDED_EPS = 1e-4
# Foreground colours are estimated on the box around the soft pixels, grown by this margin (context).
_FOREGROUND_MARGIN = 48
# post_process_mask: the 8-bit levels that count as soft (as the trimap's thresholds, 10 and 240, roughly).
_PPM_SOFT_LOW, _PPM_SOFT_HIGH = 10, 245
# An alpha within half a level of 0 or 255 is not soft: those pixels keep their own colours.
_SOFT_LOW, _SOFT_HIGH = 0.5 / 255, 254.5 / 255
# Below this, the matte says a pixel is (nearly) all background: unmixing it would divide by almost nothing, and
# its estimated colour is a guess from its neighbours (twice the error of the photo's own, measured where the
# model sees faint hair the matte does not). Where it is shown faintly too (alpha under one half) it keeps the
# photo's colour; where it is shown nearly opaque, the guess, which looks like the subject, is the lesser evil
# (the photo's colour there is a blob of the old background).
_UNMIX_MIN_ALPHA = 0.05


class MattingWarning(UserWarning):
    """An edge refinement that could not be done as asked; the message names the image and what was done
    instead."""


def is_available() -> bool:
    """Whether pymatting, which alpha matting and colour estimation need, is installed (it is not imported)."""
    return importlib.util.find_spec("pymatting") is not None


def require_pymatting(what: str) -> None:
    """Raise the one-line install hint when pymatting is missing. `what` names the option that needs it."""
    if not is_available():
        raise RuntimeError(f"{what} needs pymatting: {INSTALL_HINT}.")


def trimap(
    probability: np.ndarray,
    foreground_threshold: int = 240,
    background_threshold: int = 10,
    erode_size: int = 10,
) -> np.ndarray:
    """
    The trimap rembg's `-a` makes from a mask: foreground where the 8-bit mask is above `foreground_threshold`,
    background where it is below `background_threshold`, each eroded by an `erode_size` x `erode_size` square
    (the image's border counts as background, not as foreground); the rest is unknown.

    Args:
        probability (`np.ndarray` of shape `(height, width)`):
            The foreground probability in [0, 1].
        foreground_threshold (`int`, *optional*, defaults to 240):
            8-bit level above which a pixel is confident foreground.
        background_threshold (`int`, *optional*, defaults to 10):
            8-bit level below which a pixel is confident background.
        erode_size (`int`, *optional*, defaults to 10):
            Side of the square both confident regions are eroded by; 0 does not erode.

    Returns:
        `np.ndarray` of shape `(height, width)`, uint8: 255 foreground, 0 background, 128 unknown.

    Example:

    ```python
    >>> import numpy as np
    >>> from u2net_hf.matting import trimap

    >>> ramp = np.tile(np.linspace(1, 0, 9, dtype=np.float32), (3, 1))  # foreground fades out to the right
    >>> trimap(ramp, erode_size=0)[0].tolist()
    [255, 128, 128, 128, 128, 128, 128, 128, 0]
    ```
    """
    from scipy.ndimage import minimum_filter

    mask = np.rint(np.asarray(probability, dtype=np.float32) * 255)
    foreground = mask > foreground_threshold
    background = mask < background_threshold
    if erode_size > 0:
        # A minimum filter over a square is the binary erosion by that square (rembg's), in O(1) per pixel.
        foreground = minimum_filter(foreground, size=erode_size, mode="constant", cval=False)
        background = minimum_filter(background, size=erode_size, mode="constant", cval=True)
    result = np.full(mask.shape, 128, dtype=np.uint8)
    result[foreground] = 255
    result[background] = 0
    return result


def solve_matte(
    rgb: np.ndarray,
    probability: np.ndarray,
    *,
    foreground_threshold: int = 240,
    background_threshold: int = 10,
    erode_size: int = 10,
    name: str | None = None,
    max_pixels: int = MATTING_MAX_PIXELS,
) -> np.ndarray | None:
    """
    The closed-form matte of every pixel the model is not all but certain of (8-bit levels 1 to 254, the certain
    regions eroded by `erode_size`), solved against the pixels it is certain of, at a bounded cost.

    Only the uncertain pixels are solved, in small tiles, with the model's alpha as the faintest of priors; an
    image larger than `max_pixels` is solved at that many pixels and the matte brought back to full size by a
    guided filter on the photo, so that its edges follow the photo's. On a side the model is hardly ever
    certain of (after the erosion, fewer pixels at level 255, or at level 0, than 1 in 200 of [`trimap`]'s
    confident ones), the matte is solved against the confident pixels instead.

    Args:
        rgb (`np.ndarray` of shape `(height, width, 3)`, uint8):
            The photo.
        probability (`np.ndarray` of shape `(height, width)`):
            The model's foreground probability in [0, 1].
        foreground_threshold (`int`, *optional*, defaults to 240):
            The confident foreground of [`trimap`], solved against where the certain one is a speck, and of the
            warning when there is none.
        background_threshold (`int`, *optional*, defaults to 10):
            The confident background of [`trimap`], likewise.
        erode_size (`int`, *optional*, defaults to 10):
            The erosion of the certain (and confident) regions, in full-resolution pixels.
        name (`str`, *optional*):
            What to call the image in a [`MattingWarning`].
        max_pixels (`int`, *optional*, defaults to [`MATTING_MAX_PIXELS`]):
            The largest number of pixels solved at once; larger images are solved at a lower resolution.

    Returns:
        `np.ndarray` of shape `(height, width)`, float32 in [0, 1]: the matte, and the model's alpha where it
        was solved against (the certain pixels, or the confident ones on a side that fell back). `None`, with a
        [`MattingWarning`] that says so, when there is nothing to solve against (no confident foreground, or no
        confident background, or an image under 3 pixels across); regions of the band with no confident pixel, or
        with no solution, keep the model's alpha, with a warning too.

    Example:

    ```python
    >>> import numpy as np
    >>> from u2net_hf.matting import estimate_alpha, solve_matte

    >>> rgb = np.zeros((48, 48, 3), np.uint8); rgb[:, :24] = 255  # white foreground on the left, black on the right
    >>> levels = np.where(np.arange(48) < 12, 1.0, np.where(np.arange(48) < 24, 0.97, 0.0))  # certain, then 0.97
    >>> model = np.tile(levels.astype(np.float32), (48, 1))
    >>> matte = solve_matte(rgb, model, erode_size=4)
    >>> float(matte[24, 18]), float(matte[24, 26])  # the photo says opaque where the model says 0.97
    (1.0, 0.0)
    >>> round(float(estimate_alpha(rgb, model, erode_size=4)[24, 18]), 2)  # confident for the trimap: -a keeps it
    0.97
    ```
    """
    require_pymatting("alpha matting (alpha_matting=True)")
    label = name or "the image"
    probability = np.asarray(probability, dtype=np.float32)
    height, width = probability.shape
    scale = min(1.0, math.sqrt(max_pixels / (height * width)))
    work_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if scale < 1:
        work_rgb = np.asarray(PIL.Image.fromarray(rgb).resize(work_size, PIL.Image.Resampling.BOX))
        work_probability = np.asarray(
            PIL.Image.fromarray(probability, mode="F").resize(work_size, PIL.Image.Resampling.BOX)
        )
        # The erosion is in the caller's full-resolution pixels.
        work_erode = max(1, round(erode_size * scale)) if erode_size > 0 else 0
    else:
        work_rgb, work_probability, work_erode = rgb, probability, erode_size
    work_trimap = _solving_trimap(work_probability, foreground_threshold, background_threshold, work_erode)
    unknown = work_trimap == 128
    if not unknown.any():
        return probability  # the model is certain everywhere: nothing to solve
    missing = [kind for kind, level in (("foreground", 255), ("background", 0)) if not (work_trimap == level).any()]
    if missing:
        side = "above" if missing[0] == "foreground" else "below"
        threshold = foreground_threshold if missing[0] == "foreground" else background_threshold
        _warn(
            f"{label}: alpha matting skipped: the mask has no confident {missing[0]} (no pixel {side} "
            f"{threshold}/255 after eroding by {erode_size}); kept the model's alpha."
        )
        return None
    if min(work_trimap.shape) < 3:
        _warn(
            f"{label}: alpha matting skipped: the image is too small to matte (under 3 pixels across); kept the "
            "model's alpha."
        )
        return None

    work_alpha, unanchored, failed, tiles = _solve_unknown_band(work_rgb, work_probability, work_trimap)
    if unanchored:
        _warn(
            f"{label}: alpha matting left {unanchored} of {tiles} regions of the uncertain band as they were: they "
            "hold no confident pixel to matte against; kept the model's alpha there."
        )
    if failed:
        _warn(
            f"{label}: alpha matting found no solution in {failed} of {tiles} regions of the uncertain band; kept "
            "the model's alpha there."
        )
    if scale == 1:
        return work_alpha
    return _upsample_matte(rgb, probability, work_rgb, work_alpha, unknown)


def apply_matte(
    probability: np.ndarray,
    matte: np.ndarray | None,
    *,
    foreground_threshold: int = 240,
    background_threshold: int = 10,
    erode_size: int = 10,
) -> np.ndarray:
    """
    rembg's `-a` from a solved matte: the matte inside [`trimap`]'s unknown band, the model's alpha outside it
    (where the model is confident, its soft alpha is kept rather than made 0 or 1).

    Args:
        probability (`np.ndarray` of shape `(height, width)`):
            The model's foreground probability in [0, 1].
        matte (`np.ndarray` of shape `(height, width)`, *optional*):
            [`solve_matte`]'s matte; `None` (nothing could be solved) keeps the model's alpha.
        foreground_threshold (`int`, *optional*, defaults to 240):
            The trimap's confident foreground ([`trimap`]).
        background_threshold (`int`, *optional*, defaults to 10):
            The trimap's confident background.
        erode_size (`int`, *optional*, defaults to 10):
            The trimap's erosion, in pixels.

    Returns:
        `np.ndarray` of shape `(height, width)`, float32: the alpha in [0, 1].

    Example:

    ```python
    >>> import numpy as np
    >>> from u2net_hf.matting import apply_matte

    >>> model = np.array([[1.0, 0.97, 0.5, 0.0]], np.float32)
    >>> apply_matte(model, np.full((1, 4), 0.25, np.float32), erode_size=0).tolist()  # only the unsure pixel moves
    [[1.0, 0.9700000286102295, 0.25, 0.0]]
    ```
    """
    probability = np.asarray(probability, dtype=np.float32)
    unknown = trimap(probability, foreground_threshold, background_threshold, erode_size) == 128
    return _matte_in_band(probability, matte, unknown)


def estimate_alpha(
    rgb: np.ndarray,
    probability: np.ndarray,
    *,
    foreground_threshold: int = 240,
    background_threshold: int = 10,
    erode_size: int = 10,
    name: str | None = None,
    max_pixels: int = MATTING_MAX_PIXELS,
) -> np.ndarray:
    """
    Refine the model's alpha by closed-form matting where the model is unsure (rembg's `-a`, at a bounded cost):
    [`solve_matte`]'s matte inside the unknown band of [`trimap`], the model's alpha outside it.

    Args:
        rgb (`np.ndarray` of shape `(height, width, 3)`, uint8):
            The photo.
        probability (`np.ndarray` of shape `(height, width)`):
            The model's foreground probability in [0, 1].
        foreground_threshold (`int`, *optional*, defaults to 240):
            The trimap's confident foreground ([`trimap`]): 8-bit mask levels above this.
        background_threshold (`int`, *optional*, defaults to 10):
            The trimap's confident background: 8-bit mask levels below this.
        erode_size (`int`, *optional*, defaults to 10):
            The trimap's erosion, in full-resolution pixels.
        name (`str`, *optional*):
            What to call the image in a [`MattingWarning`].
        max_pixels (`int`, *optional*, defaults to [`MATTING_MAX_PIXELS`]):
            The largest number of pixels solved at once; larger images are solved at a lower resolution.

    Returns:
        `np.ndarray` of shape `(height, width)`, float32: the alpha in [0, 1]. When there is nothing to solve
        against (no confident foreground, or no confident background) or no solution is found, the model's
        alpha, with a [`MattingWarning`] that says so.

    Example:

    ```python
    >>> import numpy as np
    >>> from u2net_hf.matting import estimate_alpha

    >>> rgb = np.zeros((48, 48, 3), np.uint8); rgb[:, :24] = 255  # white foreground on the left, black on the right
    >>> blurry = np.tile(np.clip(np.linspace(1.6, -0.6, 48, dtype=np.float32), 0, 1), (48, 1))  # an unsure model
    >>> alpha = estimate_alpha(rgb, blurry)
    >>> bool(alpha[:, 21].min() > 0.99 and alpha[:, 26].max() < 0.01)  # the matte follows the photo's edge
    True
    ```
    """
    probability = np.asarray(probability, dtype=np.float32)
    unknown = trimap(probability, foreground_threshold, background_threshold, erode_size) == 128
    if not unknown.any():
        return probability  # the model is confident everywhere: nothing to refine
    matte = solve_matte(
        rgb,
        probability,
        foreground_threshold=foreground_threshold,
        background_threshold=background_threshold,
        erode_size=erode_size,
        name=name,
        max_pixels=max_pixels,
    )
    return _matte_in_band(probability, matte, unknown)


def _matte_in_band(probability: np.ndarray, matte: np.ndarray | None, unknown: np.ndarray) -> np.ndarray:
    """The matte where `unknown` is set, the model's alpha elsewhere (everywhere when there is no matte)."""
    if matte is None:
        return probability
    return np.where(unknown, matte, probability).astype(np.float32)


def estimate_foreground(
    rgb: np.ndarray, alpha: np.ndarray, *, matte: np.ndarray | None = None, name: str | None = None
) -> np.ndarray:
    """
    The foreground's own colours where the alpha is soft (colour decontamination, rembg's `-dc`): a pixel of a
    soft edge is a mix of the foreground and the background behind it, and showing it as it is leaves a fringe of
    the old background; pymatting's multilevel estimator (`estimate_foreground_ml`) unmixes it.

    The unmixing is only as good as the alpha it divides by: the model's alpha is often far from the truth on a
    soft edge (0.97 over a half-transparent scarf), so [`solve_matte`]'s matte unmixes better (on bench_edges'
    composites, the colour error at 12 MP falls by half with the matte, by 7% with the model's alpha).

    Args:
        rgb (`np.ndarray` of shape `(height, width, 3)`, uint8):
            The photo.
        alpha (`np.ndarray` of shape `(height, width)`):
            The alpha in [0, 1] the colours will be shown under: they are estimated where it is soft.
        matte (`np.ndarray` of shape `(height, width)`, *optional*):
            The alpha to unmix with ([`solve_matte`]'s); by default `alpha` itself.
        name (`str`, *optional*):
            What to call the image in a [`MattingWarning`].

    Returns:
        `np.ndarray` of shape `(height, width, 3)`, uint8: the photo's own colours where the alpha is 0 or 1 (and
        where it is under one half and the alpha it is unmixed with under 0.05: nearly all background, nothing to
        unmix), the estimated foreground colours where it is in between.

    Example:

    ```python
    >>> import numpy as np
    >>> from u2net_hf.matting import estimate_foreground

    >>> alpha = np.tile(np.linspace(1, 0, 32, dtype=np.float32), (32, 1))
    >>> red, blue = np.array([255, 0, 0]), np.array([0, 0, 255])
    >>> photo = np.rint(alpha[..., None] * red + (1 - alpha[..., None]) * blue).astype(np.uint8)  # red over blue
    >>> colours = estimate_foreground(photo, alpha)
    >>> int(photo[10, 16, 2]) > 120, int(colours[10, 16, 2]) < 5  # the blue of the background leaves the edge
    (True, True)
    ```
    """
    require_pymatting('colour estimation (foreground_colors="estimate")')
    from pymatting import estimate_foreground_ml

    alpha = np.asarray(alpha, dtype=np.float32)
    unmixing = alpha if matte is None else np.asarray(matte, dtype=np.float32)
    soft = (alpha > _SOFT_LOW) & (alpha < _SOFT_HIGH)
    colours = np.array(rgb, dtype=np.uint8, copy=True)
    if max(alpha.shape) < 2:  # pymatting's pyramid needs two pixels
        if soft.any():
            _warn(
                f"{name or 'the image'}: colour estimation skipped: the image has a single pixel; kept its "
                "own colours."
            )
        return colours
    if not soft.any():
        return colours
    # One call on the box around the soft pixels: the estimator's pyramid costs about the same per call
    # whatever the area, so tiles would cost more (measured: 17 s in 512-pixel tiles, 7 s at once, at 12 MP),
    # and float32 keeps it at 40 bytes a pixel.
    rows, cols = np.nonzero(soft)
    box = (
        slice(max(0, rows.min() - _FOREGROUND_MARGIN), rows.max() + _FOREGROUND_MARGIN + 1),
        slice(max(0, cols.min() - _FOREGROUND_MARGIN), cols.max() + _FOREGROUND_MARGIN + 1),
    )
    estimated = estimate_foreground_ml(rgb[box].astype(np.float32) / 255, unmixing[box])
    where = soft[box] & ~((unmixing[box] < _UNMIX_MIN_ALPHA) & (alpha[box] < 0.5))
    colours[box][where] = np.clip(np.rint(estimated[where] * 255), 0, 255).astype(np.uint8)
    return colours


def post_process_mask(probability: np.ndarray) -> np.ndarray:
    """
    Clean a mask up (rembg's `-ppm`) without making its edges hard.

    rembg's recipe decides the silhouette: an opening by a disk of radius 1 (specks and one-pixel lines go), a
    Gaussian blur of sigma 2 and a threshold at one half (the contour is smoothed, pinholes are filled). rembg
    returns that binary silhouette; here it only decides what is subject: outside it, the soft alpha joined to
    it (8-bit levels from 10 up, connected to the silhouette) is kept and the rest becomes 0 (specks and faint
    noise go); inside it, the soft alpha joined to the outside (levels up to 245, connected to the outside) is
    kept and the rest becomes 1 (pinholes filled). The soft edge, hair and semi-transparent borders stay soft.

    Args:
        probability (`np.ndarray` of shape `(height, width)`):
            The foreground probability in [0, 1].

    Returns:
        `np.ndarray` of shape `(height, width)`, float32: the cleaned alpha in [0, 1].

    Raises:
        `RuntimeError`: without scipy (which the `matting` extra brings), with the command that installs it.

    Example:

    ```python
    >>> import numpy as np
    >>> from u2net_hf.matting import post_process_mask

    >>> mask = np.zeros((200, 200), np.float32); mask[50:150, 50:150] = 1; mask[10:13, 10:13] = 1  # a speck
    >>> mask[100, 100] = 0  # a pinhole
    >>> mask[50:150, 150:160] = np.linspace(0.9, 0.1, 10)  # a soft border on the right
    >>> cleaned = post_process_mask(mask)
    >>> float(cleaned[11, 11]), float(cleaned[100, 100]), round(float(cleaned[100, 155]), 2)
    (0.0, 1.0, 0.46)
    ```
    """
    try:
        from scipy import ndimage
    except ImportError as error:
        raise RuntimeError(f"post_process_mask needs scipy: {INSTALL_HINT}.") from error

    probability = np.asarray(probability, dtype=np.float32)
    mask = np.rint(probability * 255).astype(np.uint8)
    cross = ndimage.generate_binary_structure(2, 1)  # the disk of radius 1
    opened = ndimage.grey_opening(mask, footprint=cross)
    silhouette = ndimage.gaussian_filter(opened.astype(np.float32), sigma=2) >= 127
    joined_outside = _joined_to(mask >= _PPM_SOFT_LOW, silhouette, ndimage)
    joined_inside = _joined_to(mask <= _PPM_SOFT_HIGH, ~silhouette, ndimage)
    soft = np.where(silhouette, joined_inside, joined_outside)
    return np.where(soft, probability, silhouette.astype(np.float32))


def _solving_trimap(
    probability: np.ndarray, foreground_threshold: int, background_threshold: int, erode_size: int
) -> np.ndarray:
    """
    The trimap a matte is solved against: on each side, the pixels the model is certain of, or [`trimap`]'s
    confident pixels where the certain ones are a speck beside them (under `_MIN_CERTAIN_SHARE` of them).
    """
    certain = trimap(
        probability,
        max(foreground_threshold, _CERTAIN_FOREGROUND),
        min(background_threshold, _CERTAIN_BACKGROUND),
        erode_size,
    )
    confident = trimap(probability, foreground_threshold, background_threshold, erode_size)
    result = np.full(probability.shape, 128, dtype=np.uint8)
    for level in (255, 0):
        enough = (certain == level).sum() >= _MIN_CERTAIN_SHARE * (confident == level).sum()
        result[(certain if enough else confident) == level] = level
    return result


def _joined_to(region: np.ndarray, seeds: np.ndarray, ndimage) -> np.ndarray:
    """The pixels of `region` in a connected part of it (4-connected) that holds a pixel of `seeds`."""
    labels, _ = ndimage.label(region)
    touching = np.unique(labels[seeds & region])
    return np.isin(labels, touching[touching > 0])


def _solve_unknown_band(
    rgb: np.ndarray, probability: np.ndarray, trimap_: np.ndarray
) -> tuple[np.ndarray, int, int, int]:
    """The matte of every tile holding unknown pixels, the model's alpha elsewhere; and how many tiles had no
    confident pixel, and how many found no solution (both keep the model's alpha), of how many."""
    alpha = probability.astype(np.float32, copy=True)
    unknown = trimap_ == 128
    unanchored = failed = tiles = 0
    for core, outer, inner in _tiles(unknown, _TILE, _TILE_MARGIN):
        tiles += 1
        if unknown[outer].all():
            unanchored += 1  # only the weak prior would hold the solution: slow to converge, and no better
            continue
        try:
            solved = _solve_tile(rgb[outer], probability[outer], trimap_[outer])
        except (ValueError, ArithmeticError):
            failed += 1
            continue
        where = unknown[core]
        alpha[core][where] = solved[inner][where]
    return alpha, unanchored, failed, tiles


def _solve_tile(rgb: np.ndarray, prior: np.ndarray, trimap_: np.ndarray) -> np.ndarray:
    """Closed-form matting of one tile: minimise the matting Laplacian's energy with the confident pixels fixed,
    plus `_PRIOR_WEIGHT` times the squared distance to the model's alpha on the unknown ones."""
    import scipy.sparse
    from pymatting import cf_laplacian, cg, ichol

    _silence_ichol()

    is_foreground = (trimap_ == 255).ravel()
    is_known = is_foreground | (trimap_ == 0).ravel()
    is_unknown = ~is_known
    laplacian = cf_laplacian(rgb.astype(np.float64) / 255, is_known=is_known)
    rows = laplacian[is_unknown]
    system = (rows[:, is_unknown] + _PRIOR_WEIGHT * scipy.sparse.identity(int(is_unknown.sum()))).tocsc()
    right = -(rows[:, is_known] @ is_foreground[is_known].astype(np.float64))
    right += _PRIOR_WEIGHT * prior.ravel()[is_unknown]
    preconditioner = ichol(system, discard_threshold=_ICHOL_DISCARD_THRESHOLD, shifts=_ICHOL_SHIFTS)
    solution = cg(system, right, M=preconditioner, rtol=_CG_TOLERANCE, maxiter=_CG_MAX_ITERATIONS)
    alpha = is_foreground.astype(np.float32)
    alpha[is_unknown] = np.clip(solution, 0, 1)
    return alpha.reshape(trimap_.shape)


def _silence_ichol() -> None:
    """pymatting's incomplete Cholesky prints a "PERFORMANCE WARNING" to stdout each time it has to retry with a
    larger diagonal shift (harmless: the retry succeeds), and stdout may be the PNG a command is writing
    (`u2net-hf remove - > cutout.png`). A `print` of that module's own shadows the builtin there alone; swapping
    `sys.stdout` instead would not be safe while other threads write to it."""
    module = importlib.import_module("pymatting.preconditioner.ichol")
    module.print = _discard


def _discard(*args, **kwargs) -> None:
    pass


def _upsample_matte(
    rgb: np.ndarray, probability: np.ndarray, work_rgb: np.ndarray, work_alpha: np.ndarray, unknown: np.ndarray
) -> np.ndarray:
    """The full-size alpha: the model's, except in the (upsampled) unknown band, where the working matte is
    brought to full size by a fast guided filter: its linear colour model, fitted at the working resolution, is
    applied to the full-resolution photo, strip by strip to bound memory."""
    height, width = probability.shape
    work_height, work_width = work_alpha.shape
    rows, cols = np.nonzero(unknown)
    pad = 2 * _GUIDED_RADIUS + 2
    top, bottom = max(0, rows.min() - pad), min(work_height, rows.max() + pad + 1)
    left, right = max(0, cols.min() - pad), min(work_width, cols.max() + pad + 1)
    coefficients = _guided_coefficients(work_rgb[top:bottom, left:right], work_alpha[top:bottom, left:right])
    band = unknown[top:bottom, left:right].astype(np.float32)
    scale_y, scale_x = height / work_height, width / work_width
    full_top, full_bottom = math.floor(top * scale_y), min(height, math.ceil(bottom * scale_y))
    full_left, full_right = math.floor(left * scale_x), min(width, math.ceil(right * scale_x))
    alpha = probability.copy()
    for strip_top in range(full_top, full_bottom, 256):
        strip_bottom = min(full_bottom, strip_top + 256)
        # The strip's box in the coefficient maps' own pixels (the maps start at the working pixel (top, left)).
        box = (
            max(0.0, full_left / scale_x - left),
            max(0.0, strip_top / scale_y - top),
            min(right - left, full_right / scale_x - left),
            min(bottom - top, strip_bottom / scale_y - top),
        )
        size = (full_right - full_left, strip_bottom - strip_top)
        maps = [_resize_float(channel, size, box) for channel in (*coefficients, band)]
        *slopes, offset, in_band = maps
        guide = rgb[strip_top:strip_bottom, full_left:full_right].astype(np.float32) / 255
        refined = offset + sum(slope * guide[..., c] for c, slope in enumerate(slopes))
        view = alpha[strip_top:strip_bottom, full_left:full_right]
        where = in_band > 0
        view[where] = np.clip(refined[where], 0, 1)
    return alpha


def _guided_coefficients(guide: np.ndarray, target: np.ndarray) -> list[np.ndarray]:
    """The colour guided filter's per-pixel linear model (He et al. 2013), box-averaged: three slopes, one per
    colour channel, and an offset, such that the filtered target is `offset + sum(slope_c * guide_c)`."""
    from scipy.ndimage import uniform_filter

    size = 2 * _GUIDED_RADIUS + 1

    def mean(values: np.ndarray) -> np.ndarray:
        return uniform_filter(values, size=size, mode="nearest")

    guide = guide.astype(np.float32) / 255
    target = target.astype(np.float32)
    channels = [guide[..., c] for c in range(3)]
    means = [mean(channel) for channel in channels]
    target_mean = mean(target)
    covariance = np.stack([mean(channel * target) - m * target_mean for channel, m in zip(channels, means)], -1)
    sigma = np.empty((*target.shape, 3, 3), dtype=np.float32)
    for i in range(3):
        for j in range(i, 3):
            sigma[..., i, j] = sigma[..., j, i] = mean(channels[i] * channels[j]) - means[i] * means[j]
    sigma += _GUIDED_EPS * np.eye(3, dtype=np.float32)
    slopes = np.linalg.solve(sigma, covariance[..., None])[..., 0]
    offset = target_mean - sum(slopes[..., c] * means[c] for c in range(3))
    return [mean(np.ascontiguousarray(slopes[..., c])) for c in range(3)] + [mean(offset)]


def _resize_float(values: np.ndarray, size: tuple[int, int], box: tuple[float, ...]) -> np.ndarray:
    image = PIL.Image.fromarray(values.astype(np.float32), mode="F")
    return np.asarray(image.resize(size, PIL.Image.Resampling.BILINEAR, box=box))


def _tiles(
    mask: np.ndarray, size: int, margin: int
) -> Iterator[tuple[tuple[slice, slice], tuple[slice, slice], tuple[slice, slice]]]:
    """The tiles of a `size` grid whose core holds any pixel of `mask`: the core's slices, the slices of the
    core grown by `margin` (what is computed on), and the core's slices within that crop."""
    height, width = mask.shape
    for top in range(0, height, size):
        for left in range(0, width, size):
            core = (slice(top, min(height, top + size)), slice(left, min(width, left + size)))
            if not mask[core].any():
                continue
            outer_top, outer_left = max(0, top - margin), max(0, left - margin)
            outer = (
                slice(outer_top, min(height, top + size + margin)),
                slice(outer_left, min(width, left + size + margin)),
            )
            inner = (
                slice(top - outer_top, core[0].stop - outer_top),
                slice(left - outer_left, core[1].stop - outer_left),
            )
            yield core, outer, inner


def _warn(message: str) -> None:
    warnings.warn(message, MattingWarning, stacklevel=3)


__all__ = [
    "MATTING_MAX_PIXELS",
    "MattingWarning",
    "apply_matte",
    "estimate_alpha",
    "estimate_foreground",
    "is_available",
    "post_process_mask",
    "require_pymatting",
    "solve_matte",
    "trimap",
]
