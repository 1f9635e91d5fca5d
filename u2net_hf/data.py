# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
Saliency data sets for training and evaluation: pairs of an image and its foreground mask.

Three sources are read, all through [`load_saliency_dataset`]:

- the DUTS layout, a folder `DUTS-TR/` holding `DUTS-TR-Image/*.jpg` and `DUTS-TR-Mask/*.png` (any
  `<name>-Image` + `<name>-Mask` pair, so DUTS-TE, DUT-OMRON or ECSSD laid out the same way work too);
- any folder with `images/` and `masks/` subfolders, paired by file stem (`images/cat.jpg` + `masks/cat.png`);
- a Hugging Face `datasets` data set (a Hub id, a folder saved with `save_to_disk`, or a `Dataset` object) with
  an image column and a mask column.

Masks of any mode are scaled to [0, 1], not binarised: soft (anti-aliased or matting) edges stay soft labels for
the loss, and the metrics binarise the ground truth themselves, at 0.5, as the field does. See [`mask_to_array`].
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageOps
import torch
from transformers.image_utils import PILImageResampling

from .extras import install_hint
from .image_processing_u2net import U2NetImageProcessor, to_rgb_array
from .image_transforms_u2net import resize_mask
from .pretrained import is_hub_id

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif")
# Column names tried, in order, when a `datasets` data set does not say which column holds what.
IMAGE_COLUMNS = ("image", "img", "pixel_values", "input")
MASK_COLUMNS = ("mask", "label", "labels", "gt", "annotation", "segmentation", "alpha", "matte")
# What decoding a broken or truncated file raises; such a sample is skipped, not fatal.
UNREADABLE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, PIL.Image.DecompressionBombError)
_LISTED_NAMES = 5


def find_image_mask_pairs(root: str | os.PathLike) -> list[tuple[Path, Path]]:
    """
    List the (image, mask) file pairs of a data set folder.

    Args:
        root (`str` or `os.PathLike`):
            A folder with `images/` and `masks/` subfolders, or a DUTS-style folder with one `<name>-Image` and
            `<name>-Mask` subfolder pair (such as `DUTS-TR/` with `DUTS-TR-Image/` and `DUTS-TR-Mask/`).

    Returns:
        `list[tuple[Path, Path]]`: pairs sorted by file stem; an image and a mask belong together when their
        names without extension are equal.

    Raises:
        `FileNotFoundError`: the folder does not exist or has neither layout.
        `ValueError`: some images have no mask or some masks no image (all are listed), or a folder is empty.
    """
    image_dir, mask_dir = locate_image_mask_folders(Path(root))
    images, masks = _files_by_stem(image_dir), _files_by_stem(mask_dir)
    if not images:
        raise ValueError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {image_dir}.")
    missing_masks = sorted(images.keys() - masks.keys())
    missing_images = sorted(masks.keys() - images.keys())
    if missing_masks or missing_images:
        problems = []
        if missing_masks:
            problems.append(
                f"{_count(missing_masks, 'image')} in {image_dir} without a mask: {_names(images, missing_masks)}"
            )
        if missing_images:
            problems.append(
                f"{_count(missing_images, 'mask')} in {mask_dir} without an image: {_names(masks, missing_images)}"
            )
        raise ValueError(
            f"Unpaired files: {'; '.join(problems)}. Each image needs a mask with the same file name stem "
            "(cat.jpg + cat.png); add the missing files or move the unpaired ones out."
        )
    return [(images[stem], masks[stem]) for stem in sorted(images)]


def locate_image_mask_folders(root: Path) -> tuple[Path, Path]:
    """The image and mask subfolders of a data set folder (see [`find_image_mask_pairs`])."""
    if not root.exists():
        raise FileNotFoundError(f"Data folder {root} does not exist.")
    if not root.is_dir():
        raise FileNotFoundError(f"Data path {root} is a file; give a folder with images/ and masks/ subfolders.")
    if (root / "images").is_dir() and (root / "masks").is_dir():
        return root / "images", root / "masks"
    duts_pairs = [
        (folder, folder.with_name(folder.name[: -len("-Image")] + "-Mask"))
        for folder in sorted(root.glob("*-Image"))
        if folder.is_dir()
    ]
    duts_pairs = [(images, masks) for images, masks in duts_pairs if masks.is_dir()]
    if len(duts_pairs) == 1:
        return duts_pairs[0]
    if len(duts_pairs) > 1:
        raise FileNotFoundError(
            f"{root} holds several <name>-Image/<name>-Mask folder pairs ({', '.join(p[0].name for p in duts_pairs)}); "
            "point at a folder with exactly one."
        )
    subsets = sorted(child.name for child in root.iterdir() if child.is_dir() and any(child.glob("*-Image")))
    hint = f" Its subfolders {', '.join(subsets)} look like data sets: point at one of them." if subsets else ""
    raise FileNotFoundError(
        f"{root} has neither images/ + masks/ subfolders nor a DUTS-style <name>-Image + <name>-Mask pair "
        f"(DUTS-TR/DUTS-TR-Image + DUTS-TR/DUTS-TR-Mask).{hint}"
    )


def _files_by_stem(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in IMAGE_EXTENSIONS or not path.is_file():
            continue
        if path.stem in files:
            raise ValueError(
                f"Two files in {folder} share the stem {path.stem!r}: {files[path.stem].name} and {path.name}."
            )
        files[path.stem] = path
    return files


def _count(stems: list[str], noun: str) -> str:
    return f"{len(stems)} {noun}{'s' if len(stems) != 1 else ''}"


def _names(files: dict[str, Path], stems: list[str]) -> str:
    names = ", ".join(files[stem].name for stem in stems[:_LISTED_NAMES])
    return names + (f" and {len(stems) - _LISTED_NAMES} more" if len(stems) > _LISTED_NAMES else "")


def mask_to_array(mask) -> np.ndarray:
    """
    A ground-truth mask of any mode as a float32 `(height, width)` array scaled to [0, 1].

    - 1-bit masks give 0 and 1; 8-bit masks are divided by 255 and 16-bit ones by 65535, so soft edges stay soft.
    - Integer masks whose largest value is 1 are label maps (0 background, 1 foreground) and are kept as they are,
      instead of being read as almost black.
    - A mask with an alpha channel that is not fully opaque (a cut-out, LA or RGBA) uses its alpha channel;
      otherwise colour masks use their luminance. Palette masks use their palette colours (or their indices when
      those are only 0 and 1).
    - Float masks must already lie in [0, 1] (or in [0, 255], then divided by 255).

    Args:
        mask (`PIL.Image.Image`, `np.ndarray` or `torch.Tensor`): The mask.

    Raises:
        `ValueError`: the mask has an unsupported shape, or values outside these ranges, or NaN.
    """
    channels_first = isinstance(mask, torch.Tensor)  # torch's convention; arrays are channels-last
    if isinstance(mask, PIL.Image.Image):
        mask = _pil_mask_to_array(mask)
    elif channels_first:
        mask = mask.detach().cpu().numpy()
    array = np.asarray(mask)
    if array.ndim == 3 and array.shape[0] in (1, 2, 3, 4) and (channels_first or array.shape[2] not in (1, 2, 3, 4)):
        array = array.transpose(1, 2, 0)
    if array.ndim == 3 and array.shape[2] in (1, 2, 3, 4):
        array = _single_channel(array)
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(
            f"A mask must be a non-empty (height, width) array or a 1- to 4-channel image, got shape {array.shape}."
        )
    return _scale_to_unit(array)


def _pil_mask_to_array(mask: PIL.Image.Image) -> np.ndarray:
    mask = PIL.ImageOps.exif_transpose(mask)
    if mask.mode == "1":
        return np.asarray(mask, dtype=bool)
    if mask.mode == "P":
        indices = np.asarray(mask)
        if indices.max(initial=0) <= 1:
            return indices
        mask = mask.convert("RGBA")
    if mask.mode in ("L", "I", "F") or mask.mode.startswith("I;16"):
        array = np.asarray(mask)
        return array.astype(np.uint16) if mask.mode.startswith("I;16") else array
    if mask.mode not in ("LA", "RGB", "RGBA"):
        mask = mask.convert("RGBA" if "A" in mask.getbands() else "RGB")
    return np.asarray(mask)


def _single_channel(array: np.ndarray) -> np.ndarray:
    channels = array.shape[2]
    if channels in (2, 4):
        alpha = array[..., -1]
        opaque = np.iinfo(alpha.dtype).max if np.issubdtype(alpha.dtype, np.integer) else 1.0
        if (alpha != opaque).any():
            return alpha
        array = array[..., :-1]
    if array.shape[2] == 1:
        return array[..., 0]
    # ITU-R 601 luminance, as PIL's convert("L").
    luminance = array[..., 0] * 0.299 + array[..., 1] * 0.587 + array[..., 2] * 0.114
    return luminance.astype(np.float32) / (np.iinfo(array.dtype).max if np.issubdtype(array.dtype, np.integer) else 1)


def _scale_to_unit(array: np.ndarray) -> np.ndarray:
    if array.dtype == bool:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 65535:
            raise ValueError(f"Integer mask values must lie in 0-65535, got {low}..{high}.")
        # A largest value of 1 means a label map; 16-bit masks use the 16-bit range, all others the 8-bit one.
        scale = 1 if high <= 1 else 65535 if array.dtype == np.uint16 or high > 255 else 255
        return array.astype(np.float32) / scale
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise ValueError("The mask contains NaN or infinite values.")
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 255:
        raise ValueError(f"Float mask values must lie in [0, 1] (or 0-255), got {low:g}..{high:g}.")
    return array / 255 if high > 1 else array


class SaliencyDataset(torch.utils.data.Dataset):
    """
    A saliency data set: each item is an image and its mask, optionally passed through a transform.

    Without a transform an item is `{"image": uint8 (height, width, 3) array, "mask": float32 (height, width) array
    in [0, 1], "name": str}`; with one, it is whatever the transform returns for `(image, mask, generator)`, such as
    the dicts of [`SaliencyTrainTransform`] and [`SaliencyEvalTransform`]. Build one with
    [`load_saliency_dataset`].

    A sample whose image or mask cannot be read (a corrupt or truncated file) is skipped: a warning names the file,
    `skipped` counts it, and the item is the next readable sample instead (so that training batches stay full), or
    `None` with `replace_unreadable=False` (so that evaluation scores no image twice). A mask whose size differs from its
    image's is used as it is, with a warning: training resizes both to the model's input size, and metrics are
    computed at the mask's own size.

    Args:
        samples (`Sequence`):
            What [`load_saliency_dataset`] builds: a list of (image path, mask path) pairs, or a
            [`HuggingFaceSamples`].
        transform (`Callable`, *optional*):
            Called as `transform(image, mask, generator)`; `generator` is a `torch.Generator` for random
            augmentation (see `seed`).
        seed (`int`, *optional*):
            Make random augmentation a function of `(seed, epoch, index)`: the same sample gets the same crop and
            flip in the same epoch on any run, in any worker or process, which makes resumed training identical to
            uninterrupted training. Without a seed the transform draws from torch's global random generator.
        name (`str`, *optional*):
            Where the data comes from, for messages and model cards.
        replace_unreadable (`bool`, *optional*, defaults to `True`):
            Whether an unreadable sample's item is the next readable sample (`True`) or `None`.
    """

    def __init__(
        self,
        samples,
        transform: Callable | None = None,
        seed: int | None = None,
        name: str | None = None,
        replace_unreadable: bool = True,
    ):
        if len(samples) == 0:
            raise ValueError(f"The data set {name or ''} has no samples.")
        self.samples = samples
        self.transform = transform
        self.seed = seed
        self.epoch = 0
        self.name = name
        self.replace_unreadable = replace_unreadable
        self.skipped: dict[int, str] = {}
        self._warned_sizes: set[int] = set()

    def __len__(self) -> int:
        return len(self.samples)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose augmentation `seed` reproduces."""
        self.epoch = int(epoch)

    def with_transform(
        self, transform: Callable | None, seed: int | None = None, replace_unreadable: bool = True
    ) -> SaliencyDataset:
        """A view of the same samples with another transform, seed and `replace_unreadable`."""
        view = SaliencyDataset(self.samples, transform, seed, self.name, replace_unreadable)
        view.skipped = self.skipped
        return view

    def __getitem__(self, index: int):
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for a data set of {len(self)} samples")
        index %= len(self)
        for offset in range(len(self)):
            candidate = (index + offset) % len(self)
            if candidate in self.skipped:
                continue
            try:
                image, mask = self._read(candidate)
            except UNREADABLE_ERRORS as error:
                self._skip(candidate, error)
                if not self.replace_unreadable:
                    return None
                continue
            if self.transform is None:
                return {"image": image, "mask": mask, "name": self.sample_name(candidate)}
            return self.transform(image, mask, self._generator(candidate))
        raise RuntimeError(f"None of the {len(self)} samples of {self.name or 'the data set'} could be read.")

    def sample_name(self, index: int) -> str:
        """The image's file stem, or the row number of a Hugging Face data set."""
        return str(index) if isinstance(self.samples, HuggingFaceSamples) else self.samples[index][0].stem

    def _read(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        sample = self.samples[index]
        if isinstance(sample, tuple):
            image, mask = _open_image(sample[0]), _open_image(sample[1])
        else:
            image, mask = sample["image"], sample["mask"]
        image, mask = to_rgb_array(image, index), mask_to_array(mask)
        if image.shape[:2] != mask.shape and index not in self._warned_sizes:
            self._warned_sizes.add(index)
            logger.warning(
                "Mask of %s is %dx%d but its image is %dx%d; using it resized with the image.",
                self._describe(index),
                mask.shape[1],
                mask.shape[0],
                image.shape[1],
                image.shape[0],
            )
        return image, mask

    def _skip(self, index: int, error: Exception) -> None:
        self.skipped[index] = f"{self._describe(index)}: {error}"
        logger.warning(
            "Skipping unreadable sample %s (%s: %s); %d skipped so far.",
            self._describe(index),
            type(error).__name__,
            error,
            len(self.skipped),
        )

    def _describe(self, index: int) -> str:
        # Never indexes a Hugging Face data set: reading the row is what failed.
        if isinstance(self.samples, HuggingFaceSamples):
            return f"row {index} of {self.name or 'the data set'}"
        image, mask = self.samples[index]
        return f"{image} / {mask.name}"

    def _generator(self, index: int) -> torch.Generator | None:
        if self.seed is None:
            return None
        state = np.random.SeedSequence([self.seed, self.epoch, index]).generate_state(2, dtype=np.uint32)
        return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def _open_image(path: Path) -> PIL.Image.Image:
    with PIL.Image.open(path) as image:
        image.load()  # decode now, so that a truncated file fails here and is skipped
        return image.copy()


class HuggingFaceSamples(Sequence):
    """
    The rows of a `datasets.Dataset` as `{"image", "mask"}` samples for [`SaliencyDataset`].

    Args:
        dataset (`datasets.Dataset`): The data set.
        image_column (`str`, *optional*): Column holding the images; guessed from the names and features.
        mask_column (`str`, *optional*): Column holding the masks; guessed likewise.
    """

    def __init__(self, dataset, image_column: str | None = None, mask_column: str | None = None):
        self.dataset = dataset
        self.image_column, self.mask_column = _pick_columns(dataset, image_column, mask_column)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict:
        # Decoding happens here, so a broken row raises where SaliencyDataset can skip it.
        row = self.dataset[int(index)]
        return {"image": _as_image_input(row[self.image_column]), "mask": row[self.mask_column]}


def _as_image_input(value):
    return np.asarray(value) if isinstance(value, list) else value


def _pick_columns(dataset, image_column: str | None, mask_column: str | None) -> tuple[str, str]:
    columns = list(dataset.column_names)
    for given in (image_column, mask_column):
        if given is not None and given not in columns:
            raise ValueError(f"The data set has no column {given!r}; its columns are {columns}.")
    image_features = [name for name in columns if type(dataset.features[name]).__name__ == "Image"]
    if image_column is None:
        image_column = next((name for name in IMAGE_COLUMNS if name in columns and name != mask_column), None)
        image_column = image_column or next((name for name in image_features if name != mask_column), None)
    if mask_column is None:
        mask_column = next((name for name in MASK_COLUMNS if name in columns and name != image_column), None)
        mask_column = mask_column or next((name for name in image_features if name != image_column), None)
    if image_column is None or mask_column is None:
        raise ValueError(
            f"Cannot tell which columns hold the images and the masks among {columns}; "
            "name them with image_column= and mask_column= (--image-column, --mask-column)."
        )
    return image_column, mask_column


def load_saliency_dataset(
    data,
    *,
    split: str | None = None,
    transform: Callable | None = None,
    seed: int | None = None,
    image_column: str | None = None,
    mask_column: str | None = None,
    replace_unreadable: bool = True,
) -> SaliencyDataset:
    """
    Open a saliency data set from a folder, a Hugging Face data set, or a Hub data set id.

    Args:
        data (`str`, `os.PathLike`, `datasets.Dataset`, `datasets.DatasetDict` or [`SaliencyDataset`]):
            A DUTS-style folder (`DUTS-TR/` with `DUTS-TR-Image/` + `DUTS-TR-Mask/`), a folder with `images/` +
            `masks/`, a folder written by `datasets`' `save_to_disk`, a Hub data set id (`"org/name"`), or a data
            set object. A [`SaliencyDataset`] is returned with `transform` and `seed` applied.
        split (`str`, *optional*):
            Split of a `DatasetDict` or Hub data set; defaults to the only split, else `"train"`.
        transform (`Callable`, *optional*):
            See [`SaliencyDataset`].
        seed (`int`, *optional*):
            See [`SaliencyDataset`].
        image_column (`str`, *optional*):
            Image column of a `datasets` data set; guessed (`image`, `img`, or the first image feature) if omitted.
        mask_column (`str`, *optional*):
            Mask column; guessed (`mask`, `label`, `gt`, `annotation`, ...) if omitted.
        replace_unreadable (`bool`, *optional*, defaults to `True`):
            See [`SaliencyDataset`]; `False` for evaluation.

    Returns:
        [`SaliencyDataset`]
    """
    if isinstance(data, SaliencyDataset):
        return data.with_transform(transform, seed, replace_unreadable)
    if isinstance(data, (str, os.PathLike)):
        path = Path(data).expanduser()
        name = str(data)
        if path.is_dir() and ((path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file()):
            data = _datasets().load_from_disk(str(path))
        elif path.exists() or not is_hub_id(name):
            return SaliencyDataset(find_image_mask_pairs(path), transform, seed, name, replace_unreadable)
        else:
            data = _load_hub_dataset(name, split)
    else:
        name = _dataset_name(data)
    data = _select_split(data, split)
    samples = HuggingFaceSamples(data, image_column, mask_column)
    return SaliencyDataset(samples, transform, seed, name, replace_unreadable)


# One test of "is this a Hub repo id" for models and data sets alike; the old name stays importable.
looks_like_hub_id = is_hub_id


def _datasets():
    try:
        import datasets
    except ImportError as error:
        raise ImportError(
            f"Reading Hugging Face data sets needs the `datasets` package: {install_hint('train')}."
        ) from error
    return datasets


def _load_hub_dataset(name: str, split: str | None):
    datasets = _datasets()
    try:
        return datasets.load_dataset(name, split=split)
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"No data set {name!r}: it is neither a local folder nor a readable Hub data set ({error})."
        ) from error


def _dataset_name(data) -> str:
    info = getattr(data, "info", None)
    return getattr(info, "dataset_name", None) or type(data).__name__


def _select_split(data, split: str | None):
    datasets = _datasets()
    if isinstance(data, (datasets.IterableDataset, datasets.IterableDatasetDict)):
        raise ValueError("Streaming (iterable) data sets are not supported: load the data set without streaming=True.")
    if isinstance(data, datasets.Dataset):
        return data
    if not isinstance(data, datasets.DatasetDict):
        raise TypeError(
            f"Cannot read saliency samples from a {type(data).__name__}; give a folder, a Hub data set id, "
            "or a datasets.Dataset."
        )
    splits = list(data.keys())
    if split is None:
        split = splits[0] if len(splits) == 1 else "train"
    if split not in splits:
        raise ValueError(f"The data set has no split {split!r}; its splits are {splits}.")
    return data[split]


class SaliencyTrainTransform:
    """
    The training augmentation of the U2-Net recipe: resize to `size` x `size` (aspect ratio ignored, as at
    inference), a random `crop_size` x `crop_size` crop, a random horizontal flip, and the image processor's
    rescaling and normalization. The mask is resized with bilinear interpolation alongside (a soft label) and
    cropped and flipped the same way.

    Args:
        image_processor ([`U2NetImageProcessor`], *optional*):
            The processor whose resizing, rescaling and normalization the model was trained with; the default
            processor if omitted.
        size (`int`, *optional*, defaults to 320):
            Side of the resized image.
        crop_size (`int`, *optional*, defaults to 288):
            Side of the random crop; equal to `size` for no cropping.
        horizontal_flip (`bool`, *optional*, defaults to `True`):
            Flip half of the samples left to right.

    Returns (when called):
        `dict` with `pixel_values` (float32, `(3, crop_size, crop_size)`) and `labels` (float32,
        `(1, crop_size, crop_size)` in [0, 1]).
    """

    def __init__(
        self,
        image_processor: U2NetImageProcessor | None = None,
        size: int = 320,
        crop_size: int = 288,
        horizontal_flip: bool = True,
    ):
        if crop_size > size:
            raise ValueError(f"crop_size ({crop_size}) cannot be larger than size ({size}).")
        self.image_processor = image_processor or U2NetImageProcessor()
        self.size = size
        self.crop_size = crop_size
        self.horizontal_flip = horizontal_flip

    def __call__(self, image, mask: np.ndarray, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        pixel_values, labels = resize_pair(self.image_processor, image, mask, self.size)
        top, left = (torch.randint(0, self.size - self.crop_size + 1, (2,), generator=generator)).tolist()
        window = (slice(None), slice(top, top + self.crop_size), slice(left, left + self.crop_size))
        pixel_values, labels = pixel_values[window], labels[window]
        if self.horizontal_flip and torch.rand((), generator=generator) < 0.5:
            pixel_values, labels = pixel_values.flip(-1), labels.flip(-1)
        return {"pixel_values": pixel_values.contiguous(), "labels": labels.contiguous()}


class SaliencyEvalTransform:
    """
    The evaluation transform: the image resized to `size` x `size` and normalized by the image processor, as at
    inference; the mask kept at its own resolution (`target`), where metrics are computed, and resized to the
    input size (`labels`) for the loss.

    Args:
        image_processor ([`U2NetImageProcessor`], *optional*):
            The model's processor; the default processor if omitted.
        size (`int`, *optional*):
            Side of the model input; the processor's size if omitted.

    Returns (when called):
        `dict` with `pixel_values` (`(3, size, size)`), `labels` (`(1, size, size)`) and `target` (float32
        `(height, width)` in [0, 1], the mask as read).
    """

    def __init__(self, image_processor: U2NetImageProcessor | None = None, size: int | None = None):
        self.image_processor = image_processor or U2NetImageProcessor()
        self.size = size

    def __call__(self, image, mask: np.ndarray, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        size = self.size or (self.image_processor.size["height"], self.image_processor.size["width"])
        pixel_values, labels = resize_pair(self.image_processor, image, mask, size)
        return {"pixel_values": pixel_values, "labels": labels, "target": torch.from_numpy(mask)}


def load_saliency_eval_dataset(
    data,
    image_processor: U2NetImageProcessor | None = None,
    size: int | None = None,
    *,
    split: str | None = None,
    image_column: str | None = None,
    mask_column: str | None = None,
) -> SaliencyDataset:
    """
    A data set to score a model on: [`load_saliency_dataset`] with a [`SaliencyEvalTransform`], and unreadable
    samples left out rather than replaced, so that every score comes from a real image and its own mask. The
    arguments are those of [`load_saliency_dataset`] and [`SaliencyEvalTransform`].
    """
    return load_saliency_dataset(
        data,
        split=split,
        transform=SaliencyEvalTransform(image_processor, size),
        image_column=image_column,
        mask_column=mask_column,
        replace_unreadable=False,
    )


def resize_pair(
    image_processor: U2NetImageProcessor, image, mask: np.ndarray, size: int | tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The image preprocessed by `image_processor` at `size`, and the mask resized to match with bilinear
    interpolation: `(3, height, width)` and `(1, height, width)` tensors."""
    height, width = (size, size) if isinstance(size, int) else size
    pixel_values = image_processor.preprocess(image, size={"height": height, "width": width}, return_tensors="pt")
    labels = torch.from_numpy(resize_mask(mask, (height, width), PILImageResampling.BILINEAR))
    return pixel_values["pixel_values"][0], labels.clamp_(0, 1)[None]


__all__ = [
    "HuggingFaceSamples",
    "SaliencyDataset",
    "SaliencyEvalTransform",
    "SaliencyTrainTransform",
    "find_image_mask_pairs",
    "load_saliency_dataset",
    "load_saliency_eval_dataset",
    "looks_like_hub_id",
    "mask_to_array",
    "resize_pair",
]
