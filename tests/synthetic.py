"""A deterministic synthetic saliency data set: random shapes on textured backgrounds.

Every sample is a pure function of `(seed, index, size)`, so tests that train on it are reproducible and
need no download. The foreground is one or two filled shapes (ellipse, rectangle, triangle) in a
saturated colour with a fine texture of its own; the background is a muted mix of oriented gratings, a
colour gradient and noise, with one or two black or white distractor shapes. That is a real saliency task (the object is what stands out, not a fixed
colour) that a small network can still learn in a few hundred CPU steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import PIL.Image

# Folder names of the two on-disk layouts that `u2net_hf.data` reads.
LAYOUTS = ("folders", "duts")


def synthetic_sample(index: int, size: int | tuple[int, int] = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """
    One image and its mask.

    Args:
        index (`int`): Sample number; different indices give independent samples.
        size (`int` or `tuple[int, int]`, *optional*, defaults to 96): `(height, width)` of the sample.
        seed (`int`, *optional*, defaults to 0): Data set seed.

    Returns:
        `(image, mask)`: an `(height, width, 3)` uint8 RGB image and an `(height, width)` uint8 mask with
        values 0 (background) and 255 (foreground).
    """
    height, width = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng([seed, index])
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    rows, cols = rows / height, cols / width

    image = _textured_background(rng, rows, cols)
    # Grey distractors: high-contrast shapes that are part of the background. A generic saliency model tends to
    # pick them up; the data set's notion of foreground (colourful objects) has to be learnt.
    for _ in range(rng.integers(1, 3)):
        shape = _random_shape(rng, rows, cols, scale=0.6)
        image[shape] = rng.choice([rng.uniform(0.0, 0.15), rng.uniform(0.85, 1.0)])
    mask = np.zeros((height, width), dtype=bool)
    for _ in range(rng.integers(1, 3)):
        shape = _random_shape(rng, rows, cols)
        colour = _saturated_colour(rng)
        texture = 0.85 + 0.15 * np.sign(np.sin(rng.uniform(20, 40) * (rows + cols) + rng.uniform(0, 6.3)))
        image[shape] = colour * texture[shape, None]
        mask |= shape
    image += rng.normal(0, 0.03, image.shape)
    image = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    return image, mask.astype(np.uint8) * 255


def _textured_background(rng: np.random.Generator, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    base = rng.uniform(0.3, 0.6, 3)
    tint = rng.uniform(-0.15, 0.15, 3)
    gradient = base + tint * (rng.uniform(-1, 1) * rows + rng.uniform(-1, 1) * cols)[..., None]
    texture = np.zeros_like(rows)
    for _ in range(3):
        angle, frequency, phase = rng.uniform(0, np.pi), rng.uniform(4, 25), rng.uniform(0, 2 * np.pi)
        texture += np.sin(2 * np.pi * frequency * (np.cos(angle) * rows + np.sin(angle) * cols) + phase)
    # Grey texture on a desaturated colour: busy, but nothing in it stands out like the objects do.
    return gradient + 0.06 * texture[..., None]


def _saturated_colour(rng: np.random.Generator) -> np.ndarray:
    colour = rng.uniform(0.0, 0.35, 3)
    colour[rng.integers(0, 3)] = rng.uniform(0.8, 1.0)
    if rng.random() < 0.5:
        colour[rng.integers(0, 3)] = rng.uniform(0.7, 1.0)
    return colour


def _random_shape(rng: np.random.Generator, rows: np.ndarray, cols: np.ndarray, scale: float = 1.0) -> np.ndarray:
    centre_row, centre_col = rng.uniform(0.25, 0.75, 2)
    half_height, half_width = scale * rng.uniform(0.15, 0.32, 2)
    kind = rng.integers(0, 3)
    if kind == 0:  # ellipse
        return ((rows - centre_row) / half_height) ** 2 + ((cols - centre_col) / half_width) ** 2 <= 1
    if kind == 1:  # rectangle
        return (np.abs(rows - centre_row) <= half_height) & (np.abs(cols - centre_col) <= half_width)
    # triangle: inside all three half-planes of its edges
    # Corners on a circle, spread around it, so the triangle is never a sliver.
    angles = rng.uniform(0, 2 * np.pi) + np.array([0, 2, 4]) * np.pi / 3 + rng.uniform(-0.4, 0.4, 3)
    radius = 1.2 * max(half_height, half_width)
    corners = np.stack([centre_row + radius * np.sin(angles), centre_col + radius * np.cos(angles)], axis=1)
    signs = []
    for (r0, c0), (r1, c1) in zip(corners, np.roll(corners, -1, axis=0), strict=True):
        signs.append((c1 - c0) * (rows - r0) - (r1 - r0) * (cols - c0) >= 0)
    return np.logical_and.reduce(signs) | np.logical_and.reduce([~s for s in signs])


def write_synthetic_dataset(
    root: str | Path,
    count: int,
    size: int | tuple[int, int] = 96,
    seed: int = 0,
    layout: str = "folders",
    start: int = 0,
) -> Path:
    """
    Write `count` samples to disk in one of the layouts `u2net_hf.data` reads.

    Args:
        root (`str` or `Path`): Folder to create.
        count (`int`): Number of samples.
        size (`int` or `tuple[int, int]`, *optional*, defaults to 96): Sample size.
        seed (`int`, *optional*, defaults to 0): Data set seed.
        layout (`str`, *optional*, defaults to `"folders"`):
            `"folders"`: `root/images/NNNN.png` and `root/masks/NNNN.png`. `"duts"`: the DUTS layout,
            `root/<name>-Image/NNNN.jpg` and `root/<name>-Mask/NNNN.png` where `<name>` is `root`'s name.
        start (`int`, *optional*, defaults to 0): Index of the first sample (use disjoint ranges of the same
            seed for train and held-out sets).

    Returns:
        `Path`: `root`.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    root = Path(root)
    if layout == "folders":
        image_dir, mask_dir, extension = root / "images", root / "masks", ".png"
    else:
        image_dir, mask_dir, extension = root / f"{root.name}-Image", root / f"{root.name}-Mask", ".jpg"
    image_dir.mkdir(parents=True, exist_ok=True)
    mask_dir.mkdir(parents=True, exist_ok=True)
    for index in range(start, start + count):
        image, mask = synthetic_sample(index, size, seed)
        PIL.Image.fromarray(image).save(image_dir / f"{index:04d}{extension}", quality=95)
        PIL.Image.fromarray(mask).save(mask_dir / f"{index:04d}.png")
    return root
