# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""U2-Net's pre- and post-processing in numpy and Pillow alone: the one implementation that
[`U2NetImageProcessor`] runs (it wraps these functions in transformers' processor API) and that sessions on
onnxruntime run without importing torch or transformers.

Shipped beside `image_processing_u2net.py` as Hub remote code (it imports only numpy and Pillow).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import PIL.Image
import PIL.ImageOps

# transformers' IMAGENET_DEFAULT_MEAN / IMAGENET_DEFAULT_STD, the normalization U2-Net was trained with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class U2NetTransforms:
    """
    The settings of U2-Net's preprocessing (those of [`U2NetImageProcessor`], read from a
    `preprocessor_config.json`) and the transforms they define.

    Args:
        do_resize (`bool`, *optional*, defaults to `True`):
            Resize images to `size` (aspect ratio ignored, as U2-Net was trained).
        size (`tuple[int, int]`, *optional*, defaults to `(320, 320)`):
            `(height, width)` of the model input.
        resample (`int`, *optional*, defaults to `PIL.Image.Resampling.LANCZOS`):
            Pillow filter of the resize.
        do_rescale (`bool`, *optional*, defaults to `True`):
            Bring pixels to [0, 1].
        rescale_factor (`float`, *optional*, defaults to `1/255`):
            The factor, when not `rescale_by_max`.
        rescale_by_max (`bool`, *optional*, defaults to `True`):
            Divide each image by its own maximum instead (as the upstream training code and rembg do).
        do_normalize (`bool`, *optional*, defaults to `True`):
            Normalize with `image_mean` and `image_std`.
        image_mean (`tuple[float, ...]`, *optional*, defaults to the ImageNet mean):
            Per-channel mean.
        image_std (`tuple[float, ...]`, *optional*, defaults to the ImageNet standard deviation):
            Per-channel standard deviation.

    Example:

    ```python
    >>> import numpy as np
    >>> from u2net_hf.image_transforms_u2net import U2NetTransforms

    >>> transforms = U2NetTransforms.from_dict({"size": {"height": 64, "width": 64}})
    >>> transforms.preprocess(np.zeros((48, 80, 3), np.uint8)).shape
    (3, 64, 64)
    >>> [mask.shape for mask in transforms.masks(np.zeros((1, 1, 64, 64), np.float32), [(48, 80)])]
    [(48, 80)]
    ```
    """

    do_resize: bool = True
    size: tuple[int, int] = (320, 320)
    resample: int = int(PIL.Image.Resampling.LANCZOS)
    do_rescale: bool = True
    rescale_factor: float = 1 / 255
    rescale_by_max: bool = True
    do_normalize: bool = True
    image_mean: tuple[float, ...] = field(default=IMAGENET_MEAN)
    image_std: tuple[float, ...] = field(default=IMAGENET_STD)

    @classmethod
    def from_dict(cls, config: dict) -> U2NetTransforms:
        """From the dictionary of a `preprocessor_config.json` (or `U2NetImageProcessor.to_dict()`); keys that
        are not processing settings are ignored."""
        known = {f.name for f in fields(cls)}
        values = {name: value for name, value in config.items() if name in known and value is not None}
        if isinstance(values.get("size"), dict):
            values["size"] = (int(values["size"]["height"]), int(values["size"]["width"]))
        for name in ("image_mean", "image_std"):
            if name in values:
                values[name] = tuple(float(v) for v in values[name])
        if "resample" in values:
            values["resample"] = int(values["resample"])
        return cls(**values)

    @classmethod
    def of(cls, processor) -> U2NetTransforms:
        """The transforms of `processor`: a [`U2NetImageProcessor`] (any object with its settings as attributes),
        or transforms already."""
        if isinstance(processor, cls):
            return processor
        if not all(hasattr(processor, name) for name in ("size", "rescale_by_max", "image_mean", "image_std")):
            raise TypeError(
                f"Expected a U2NetImageProcessor (or U2NetTransforms), got {type(processor).__name__}: U2-Net's "
                "preprocessing cannot be read from it."
            )
        return cls.from_dict({f.name: getattr(processor, f.name, None) for f in fields(cls)})

    def processor_kwargs(self) -> dict:
        """The arguments of a [`U2NetImageProcessor`] with these settings."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["size"] = {"height": self.size[0], "width": self.size[1]}
        values["image_mean"], values["image_std"] = list(self.image_mean), list(self.image_std)
        return values

    def preprocess(self, image, index: int = 0) -> np.ndarray:
        """
        One image (a PIL image, or an array as [`to_rgb_array`] takes it) as the model's input.

        Returns:
            `np.ndarray` of shape `(3, height, width)`, float32.
        """
        array = to_rgb_array(image, index)
        if self.do_resize:
            array = resize_rgb_array(array, self.size, self.resample)
        array = array.astype(np.float32)
        if self.do_rescale:
            array = array / max(float(array.max()), 1e-6) if self.rescale_by_max else array * self.rescale_factor
        if self.do_normalize:
            array = (array - np.asarray(self.image_mean, np.float32)) / np.asarray(self.image_std, np.float32)
        return np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32)

    @staticmethod
    def masks(
        logits: np.ndarray,
        target_sizes: Sequence[tuple[int, int]] | None = None,
        min_max_normalize: bool = False,
        resample: int = int(PIL.Image.Resampling.BILINEAR),
    ) -> list[np.ndarray]:
        """
        The fused logits as soft foreground masks, one per image: the sigmoid, optionally stretched to span
        [0, 1], resized to each image's size.

        Args:
            logits (`np.ndarray` of shape `(batch_size, 1, height, width)`):
                The model's fused logits.
            target_sizes (`list[tuple[int, int]]`, *optional*):
                `(height, width)` of each image; the logits' size when omitted.
            min_max_normalize (`bool`, *optional*, defaults to `False`):
                Stretch each map to span [0, 1] exactly, as upstream U-2-Net and rembg do.
            resample (`int`, *optional*, defaults to `PIL.Image.Resampling.BILINEAR`):
                Pillow filter of the resize.

        Returns:
            `list[np.ndarray]`: float32 masks of shape `(height, width)`, in [0, 1].
        """
        logits = np.asarray(logits, dtype=np.float32)
        if logits.ndim != 4:
            raise ValueError(f"Expected logits of shape (batch, channels, height, width), got {tuple(logits.shape)}.")
        if target_sizes is not None and len(target_sizes) != len(logits):
            raise ValueError(f"Got {len(target_sizes)} target sizes for a batch of {len(logits)} predictions.")
        masks = []
        for index, logit in enumerate(logits[:, 0]):
            probability = sigmoid(logit)
            if min_max_normalize:
                low, high = probability.min(), probability.max()
                probability = (probability - low) / max(float(high - low), 1e-12)
            if target_sizes is not None:
                probability = resize_mask(probability, tuple(target_sizes[index]), resample)
            masks.append(np.clip(probability, 0, 1, out=probability))
        return masks


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """The logistic function in float32, without overflow warnings for large negative logits."""
    logits = np.asarray(logits, dtype=np.float32)
    out = np.empty_like(logits)
    positive = logits >= 0
    out[positive] = 1 / (1 + np.exp(-logits[positive]))
    exp = np.exp(logits[~positive])
    out[~positive] = exp / (1 + exp)
    return out


def to_rgb_array(image, index: int = 0) -> np.ndarray:
    """Any supported image as an `(height, width, 3)` array: uint8 for 8-bit sources, float32 on the
    0-255 scale otherwise (16-bit and float images keep their precision). PIL images and numpy arrays."""
    if isinstance(image, PIL.Image.Image):
        array = _pil_to_array(image)
    elif isinstance(image, np.ndarray):
        array = _numpy_to_array(image, index)
    else:
        raise TypeError(
            f"Image {index} is a {type(image).__name__}; expected a PIL image, a numpy array or a torch tensor."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"Image {index} is empty: size {array.shape[1]}x{array.shape[0]}.")
    return array


def _pil_to_array(image: PIL.Image.Image) -> np.ndarray:
    image = PIL.ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        array = np.asarray(image, dtype=np.float32)
        # 16-bit PNGs open as "I;16" (or "I"): bring them to the 0-255 scale of 8-bit images.
        if image.mode.startswith("I;16") or (image.mode == "I" and array.max() > 255):
            array = array / 257.0
        return np.repeat(array[..., None], 3, axis=2)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    return np.asarray(image.convert("RGB"))


def _numpy_to_array(array: np.ndarray, index: int) -> np.ndarray:
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise ValueError(
            f"Image {index} has shape {array.shape}; expected (height, width) or (height, width, channels) "
            "with 1 to 4 channels."
        )
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype == np.uint16:
        array = array.astype(np.float32) / 257.0
    elif np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32)
        if not np.isfinite(array).all():
            raise ValueError(f"Image {index} contains NaN or infinite values.")
        if array.min() >= 0 and array.max() <= 1:
            array = array * 255.0
    elif array.dtype != np.uint8:
        if array.min() < 0 or array.max() > 255:
            raise ValueError(f"Image {index} has integer values outside 0-255 (dtype {array.dtype}).")
        array = array.astype(np.uint8)
    channels = array.shape[2]
    if channels in (1, 2):  # gray or gray + alpha
        return np.repeat(array[..., :1], 3, axis=2)
    return array[..., :3]


def resize_rgb_array(array: np.ndarray, size: tuple[int, int], resample) -> np.ndarray:
    """An `(height, width, 3)` array resized by Pillow to `size` = `(height, width)`; float arrays channel by
    channel, so that they keep their precision."""
    height, width = size
    if array.shape[:2] == (height, width):
        return array
    if array.dtype == np.uint8:
        return np.asarray(PIL.Image.fromarray(array).resize((width, height), resample=resample))
    channels = [
        np.asarray(
            PIL.Image.fromarray(np.ascontiguousarray(array[..., c], dtype=np.float32)).resize(
                (width, height), resample=resample
            )
        )
        for c in range(array.shape[2])
    ]
    return np.stack(channels, axis=2)


def resize_mask(mask: np.ndarray, size: tuple[int, int], resample) -> np.ndarray:
    """A float32 `(height, width)` mask resized by Pillow to `size` = `(height, width)`."""
    height, width = size
    if tuple(mask.shape) == (height, width):
        return mask
    resized = PIL.Image.fromarray(mask.astype(np.float32, copy=False)).resize((width, height), resample=resample)
    return np.asarray(resized).copy()


__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "U2NetTransforms",
    "resize_mask",
    "resize_rgb_array",
    "sigmoid",
    "to_rgb_array",
]
