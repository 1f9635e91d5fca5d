# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Background removal: the library API that the `u2net-hf remove` command is a thin layer over.

Any image in (a path, bytes, a PIL image or a numpy array), a cut-out with a soft alpha out, at the input's
full resolution and with its EXIF orientation applied. Preprocessing and mask post-processing are the
model's own [`U2NetImageProcessor`]; the model is named with the same spec as everywhere else (see
[`~u2net_hf.pretrained.load_model`]) and loaded once.
"""

from __future__ import annotations

import functools
import io
import itertools
import os
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageColor
import PIL.ImageOps
import torch

from .image_processing_u2net import U2NetImageProcessor, to_rgb_array
from .modeling_u2net import U2NetForImageSegmentation
from .onnx import OnnxU2Net, is_onnx_file, load_onnx_model, providers_for_device
from .optimization import optimize_for_inference
from .pretrained import _folder_stamp, load_image_processor, load_model, resolve_model_path

ImageInput = str | os.PathLike | bytes | bytearray | memoryview | PIL.Image.Image | np.ndarray
ImageOutput = PIL.Image.Image | bytes | np.ndarray
Color = str | Sequence[int]
ModelInput = str | os.PathLike | U2NetForImageSegmentation | OnnxU2Net | None
BACKENDS = ("torch", "onnxruntime")

_KNOWN_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"RIFF": "WebP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"BM": "BMP",
}
# Modes whose pixels carry an alpha channel of their own (besides "transparency" in `info`).
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


def load_image(image: ImageInput, *, name: str | None = None) -> PIL.Image.Image:
    """
    Open any supported image as a fully decoded PIL image with its EXIF orientation applied.

    Only the first frame of animated or multi-page files (GIF, APNG, WebP, TIFF) is kept. PNG chunk checksums
    are verified (Pillow skips that when decoding). Images larger than Pillow's decompression-bomb limit
    (`2 * PIL.Image.MAX_IMAGE_PIXELS`) are refused before any pixel is decoded.

    Args:
        image (`str`, `os.PathLike`, `bytes`, `PIL.Image.Image` or `np.ndarray`):
            A path to an image file, the encoded bytes of one, a PIL image, or an array of shape
            `(height, width)` or `(height, width, channels)` with 1 to 4 channels (uint8, uint16, bool or float
            in [0, 1]). Arrays with 2 or 4 channels keep their last channel as alpha.
        name (`str`, *optional*):
            What to call the image in error messages; the path, or `"image"`, by default.

    Returns:
        `PIL.Image.Image`: a new image, independent of the file and of the object passed in.

    Raises:
        `ValueError`: one line naming the image and what is wrong with it (missing, empty, not an image,
        truncated, corrupt, too large).
        `TypeError`: for an object that is not an image.
    """
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        return _decode(_read_file(path), name or str(path))
    name = name or "image"
    if isinstance(image, (bytes, bytearray, memoryview)):
        return _decode(bytes(image), name)
    if isinstance(image, PIL.Image.Image):
        with _pillow_errors(name):
            return PIL.ImageOps.exif_transpose(image)
    if isinstance(image, np.ndarray):
        return _array_to_image(image, name)
    raise TypeError(f"{name} is a {type(image).__name__}; expected a file path, bytes, a PIL image or a numpy array.")


def remove_background(
    image: ImageInput,
    *,
    model: ModelInput = None,
    image_processor: U2NetImageProcessor | None = None,
    mask_only: bool = False,
    bg_color: Color | None = None,
    threshold: float | None = None,
    device: str | torch.device | None = None,
    backend: str | None = None,
    int8: bool = False,
) -> ImageOutput:
    """
    Remove the background of one image.

    Args:
        image (`str`, `os.PathLike`, `bytes`, `PIL.Image.Image` or `np.ndarray`):
            The image; see [`load_image`]. The result comes back as the same kind: bytes give PNG bytes, an
            array gives a uint8 array, a PIL image or a path gives a PIL image.
        model (`str`, `os.PathLike`, [`U2NetForImageSegmentation`] or [`~u2net_hf.onnx.OnnxU2Net`], *optional*, defaults to `"u2net-lite"`):
            The bundled model name, a local folder saved with `save_pretrained`, a Hub repo id, or a loaded
            model (see [`~u2net_hf.pretrained.load_model`]); or an `.onnx` file made by `u2net-hf export-onnx`.
            Named models are loaded once and cached.
        image_processor ([`U2NetImageProcessor`], *optional*):
            The processor to use; by default the one saved with the model (for ONNX, the one in the file).
        mask_only (`bool`, *optional*, defaults to `False`):
            Return the mask alone, as an 8-bit grayscale ("L") image: 255 is foreground.
        bg_color (`str` or `tuple[int, ...]`, *optional*):
            Composite the cut-out onto this colour instead of leaving the background transparent: `(r, g, b)`
            gives an opaque RGB image, `(r, g, b, a)` an RGBA one; strings such as `"#ffffff"`, `"#00000080"`
            or `"white"` work too.
        threshold (`float`, *optional*):
            Make the alpha hard: 255 where the foreground probability exceeds `threshold` (in [0, 1]), 0
            elsewhere. By default the alpha is soft: the model's probability, scaled to 0-255.
        device (`str` or `torch.device`, *optional*):
            Where to run the model: the first CUDA GPU when there is one, else the CPU (a loaded model stays
            where it is).
        backend (`str`, *optional*):
            `"torch"` runs the PyTorch model; `"onnxruntime"` runs its ONNX export under onnxruntime, exported on
            first use and cached on disk (see [`~u2net_hf.onnx.load_onnx_model`]; needs the `onnx` extra), which
            is faster on CPUs. By default `"onnxruntime"` for an `.onnx` file, a loaded
            [`~u2net_hf.onnx.OnnxU2Net`] or `int8=True`, else `"torch"`.
        int8 (`bool`, *optional*, defaults to `False`):
            Run the int8 export under onnxruntime: about twice as fast as float32 on CPUs, with masks that move a
            little (mask IoU 0.98-0.999 against float32 on real photos; see the performance page).

    Returns:
        `PIL.Image.Image`, `bytes` or `np.ndarray`: an RGBA cut-out of the input's size, in the input's
        orientation after EXIF rotation. Its colour channels are the input's own pixels, never darkened by the
        mask, wherever the alpha is above 0 (black where it is 0, as nothing shows there); where the input has
        an alpha channel of its own, the cut-out's alpha is the mask times it.

    Example:

    ```python
    >>> from PIL import Image
    >>> from u2net_hf.background import remove_background

    >>> cutout = remove_background(Image.new("RGB", (64, 48), "white"))
    >>> cutout.mode, cutout.size
    ('RGBA', (64, 48))
    ```
    """
    results = remove_backgrounds(
        [image],
        model=model,
        image_processor=image_processor,
        mask_only=mask_only,
        bg_color=bg_color,
        threshold=threshold,
        device=device,
        backend=backend,
        int8=int8,
        batch_size=1,
    )
    return next(results)


def remove_backgrounds(
    images: Iterable[ImageInput],
    *,
    model: ModelInput = None,
    image_processor: U2NetImageProcessor | None = None,
    mask_only: bool = False,
    bg_color: Color | None = None,
    threshold: float | None = None,
    device: str | torch.device | None = None,
    backend: str | None = None,
    int8: bool = False,
    batch_size: int = 4,
) -> Iterator[ImageOutput]:
    """
    Remove the backgrounds of many images, running the model on `batch_size` images at a time.

    A generator: it reads `images` lazily and yields one result per image, in order, so memory stays flat
    however long the input is (wrap it in `list()` to get a list). The arguments are those of
    [`remove_background`]; the model is loaded before the first image is read.

    Args:
        images (iterable of `str`, `os.PathLike`, `bytes`, `PIL.Image.Image` or `np.ndarray`):
            The images, of any sizes and kinds; each result comes back as the kind of its input.
        batch_size (`int`, *optional*, defaults to 4):
            How many images go through the model at once. The images of a batch are also decoded, resized and
            composited in parallel, one thread each, which is what makes batches faster on large photos, on a
            GPU or not. Every image of a batch is held in memory at full resolution, with its full-resolution
            mask: memory grows with the batch size (about 0.6 GiB per image of a batch for 12-megapixel photos).

    Raises:
        `ValueError`: for an image that cannot be read (see [`load_image`]), when its batch is reached.
    """
    options = _Options.create(mask_only=mask_only, bg_color=bg_color, threshold=threshold)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    loaded_model, processor = load_remover(model, backend=backend, int8=int8, device=device)
    if image_processor is not None:
        processor = image_processor
    return _remove_in_batches(images, loaded_model, processor, options, batch_size)


def load_remover(
    model: ModelInput = None,
    *,
    backend: str | None = None,
    int8: bool = False,
    device: str | torch.device | None = None,
) -> tuple[U2NetForImageSegmentation | OnnxU2Net, U2NetImageProcessor]:
    """
    Load what [`remove_backgrounds`] runs: the model on its backend and device, and its image processor. Both
    are cached, so calling this again is free; the `u2net-hf remove` command calls it once, up front, so that a
    model that cannot be loaded stops it before any image is read.

    On the torch backend a model named by a spec runs in the optimized inference mode (see
    [`~u2net_hf.optimization.optimize_for_inference`]: probabilities within 1e-4 of the eager model's, up to
    1.5 times faster); a model object passed in runs as it is, never copied or changed.

    The arguments are those of [`remove_background`].

    Returns:
        `tuple`: the model ([`U2NetForImageSegmentation`] for the torch backend, [`~u2net_hf.onnx.OnnxU2Net`]
        for onnxruntime) and its [`U2NetImageProcessor`].

    Raises:
        `ValueError`: for an unknown backend or device, or options that do not go together (`int8` with the
        torch backend, an `.onnx` file with the torch backend).
    """
    backend = _resolve_backend(model, backend, int8)
    if backend == "torch":
        device = resolve_device(device, model)
        if isinstance(model, torch.nn.Module):
            return load_model(model, device=device), load_image_processor(model)  # the caller's model, as it is
        return _load_optimized(model, device), load_image_processor(model)
    if isinstance(model, OnnxU2Net):
        return model, model.image_processor
    loaded = load_onnx_model(model, int8=int8, providers=providers_for_device(device))
    return loaded, loaded.image_processor


def _load_optimized(spec: str | os.PathLike | None, device: torch.device) -> torch.nn.Module:
    """A named model in the optimized inference mode (batch normalization folded, channels-last): no caller holds
    it, so none can train it, and it is faster: 1.4x on a GPU at batch 1, 1.5x on a CPU at batch 8 (see
    docs/performance.md). Its probabilities stay within 1e-4 of the eager model's."""
    path = resolve_model_path(spec)
    return _load_optimized_cached(path, str(device), _folder_stamp(path))


@functools.lru_cache(maxsize=4)
def _load_optimized_cached(path: str, device: str, stamp: tuple) -> torch.nn.Module:
    return optimize_for_inference(load_model(path, device=device))


def _resolve_backend(model: ModelInput, backend: str | None, int8: bool) -> str:
    is_onnx = isinstance(model, OnnxU2Net) or is_onnx_file(model)
    if backend is None:
        return "onnxruntime" if is_onnx or int8 else "torch"
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}: use 'torch' or 'onnxruntime'.")
    if backend == "torch" and int8:
        raise ValueError(
            "int8 runs on the onnxruntime backend, not on torch: choose backend 'onnxruntime' or leave the backend "
            "unset."
        )
    if backend == "torch" and is_onnx:
        raise ValueError(f"{_describe(model)} is an ONNX model: run it with backend='onnxruntime'.")
    return backend


def _describe(model: ModelInput) -> str:
    return os.fspath(model) if isinstance(model, (str, os.PathLike)) else type(model).__name__


def resolve_device(
    device: str | torch.device | None = None, model: torch.nn.Module | object | None = None
) -> torch.device | None:
    """
    The device to run on: `device` when given (checked to exist on this machine); else where a loaded `model`
    already is (`None`: leave it there); else the first CUDA GPU if there is one, else the CPU.
    """
    if device is None:
        if isinstance(model, torch.nn.Module):
            return None
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"Unknown device {str(device)!r}: use 'cpu', 'cuda', 'cuda:1', 'mps'...") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"Device {str(device)!r} asked for, but CUDA is not available here (no GPU, or PyTorch built without "
            "CUDA support); use 'cpu'."
        )
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(
            f"Device {str(device)!r} does not exist: this machine has {torch.cuda.device_count()} GPU(s)."
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"Device {str(device)!r} asked for, but Apple's MPS is not available here; use 'cpu'.")
    return device


def parse_color(color: Color) -> tuple[int, ...]:
    """
    Read a colour given as `(r, g, b)`, `(r, g, b, a)` (integers in 0-255) or a string Pillow understands
    (`"#fff"`, `"#ffffff"`, `"#ffffff80"`, `"white"`, `"rgb(255, 0, 0)"`).

    Returns:
        `tuple[int, ...]`: 3 values (opaque colour) or 4 (with alpha).
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
class _Options:
    mask_only: bool
    bg_color: tuple[int, ...] | None
    threshold: float | None

    @classmethod
    def create(cls, mask_only: bool, bg_color: Color | None, threshold: float | None) -> _Options:
        if mask_only and bg_color is not None:
            raise ValueError("mask_only and bg_color cannot be combined: a mask has no background to colour.")
        if threshold is not None and not (
            isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and 0 <= threshold <= 1
        ):
            raise ValueError(f"threshold is a foreground probability in [0, 1], got {threshold!r}.")
        color = parse_color(bg_color) if bg_color is not None else None
        return cls(bool(mask_only), color, None if threshold is None else float(threshold))


@dataclass
class _Source:
    """An image made ready for the model and for compositing: the model's input, the 8-bit RGB pixels and the
    input's own alpha."""

    pixel_values: torch.Tensor
    rgb: np.ndarray
    alpha: np.ndarray | None
    icc_profile: bytes | None
    kind: type

    @classmethod
    def from_input(cls, image: ImageInput, index: int, processor: U2NetImageProcessor) -> _Source:
        name = str(image) if isinstance(image, (str, os.PathLike)) else f"image {index}"
        picture = load_image(image, name=name)
        with _pillow_errors(name):
            # The processor's own conversion, so that the model and the cut-out see the same pixels.
            rgb = to_rgb_array(picture)
            alpha = _alpha_channel(picture)
        if rgb.dtype != np.uint8:
            rgb = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
        # An ICC profile describes colour channels that the cut-out keeps; only an RGB source's profile still
        # fits them.
        icc = picture.info.get("icc_profile") if picture.mode in ("RGB", "RGBA") else None
        pixel_values = processor.preprocess(rgb, return_tensors="pt")["pixel_values"]
        return cls(pixel_values, rgb=rgb, alpha=alpha, icc_profile=icc, kind=_output_kind(image))

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[:2]


def _remove_in_batches(images, model, processor, options: _Options, batch_size: int) -> Iterator[ImageOutput]:
    # On full-size photos, decoding, resizing and compositing cost more than the model: spread them over threads,
    # one per image of a batch (Pillow and numpy release the GIL), while the model runs on the whole batch.
    workers = min(batch_size, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers, thread_name_prefix="u2net-hf") if workers > 1 else nullcontext() as pool:
        apply = map if pool is None else pool.map
        prepare = functools.partial(_Source.from_input, processor=processor)
        iterator = iter(images)
        start = 0
        while batch := list(itertools.islice(iterator, batch_size)):
            sources = list(apply(prepare, batch, range(start, start + len(batch))))
            del batch
            start += len(sources)
            logits = _forward(sources, model)
            finish = functools.partial(_finish, logits=logits, processor=processor, options=options)
            yield from apply(finish, sources, range(len(sources)))


def _forward(sources: list[_Source], model) -> torch.Tensor:
    pixel_values = torch.cat([source.pixel_values for source in sources])
    with torch.inference_mode():
        return model(pixel_values.to(**_input_placement(model))).logits.float()


def _input_placement(model) -> dict:
    """The device and dtype a model's inputs must have. PyTorch and ONNX models say so as `.device`/`.dtype`;
    a plain `nn.Module` is asked through its parameters."""
    if hasattr(model, "device") and hasattr(model, "dtype"):
        return {"device": model.device, "dtype": model.dtype}
    parameter = next(model.parameters())
    return {"device": parameter.device, "dtype": parameter.dtype}


def _finish(source: _Source, index: int, logits: torch.Tensor, processor, options: _Options) -> ImageOutput:
    (probability,) = processor.post_process_saliency({"logits": logits[index : index + 1]}, target_sizes=[source.size])
    return _convert(_compose(source, probability.numpy(), options), source.kind)


def _compose(source: _Source, probability: np.ndarray, options: _Options) -> PIL.Image.Image:
    if options.threshold is not None:
        mask = np.where(probability > options.threshold, np.uint8(255), np.uint8(0))
    else:
        mask = np.rint(probability * 255).astype(np.uint8)
    if options.mask_only:
        return PIL.Image.fromarray(mask, mode="L")

    alpha = mask if source.alpha is None else _multiply(mask, source.alpha)
    if options.bg_color is None:
        result = PIL.Image.fromarray(np.dstack([_visible_colour(source.rgb, alpha), alpha]), mode="RGBA")
    else:
        result = _over_color(source.rgb, alpha, options.bg_color)
    if source.icc_profile:
        result.info["icc_profile"] = source.icc_profile
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


def _output_kind(image: ImageInput) -> type:
    if isinstance(image, np.ndarray):
        return np.ndarray
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes
    return PIL.Image.Image  # for PIL images and for paths


def png_save_options(compress_level: int | None = None) -> dict:
    """
    Pillow's `save` options for the PNGs written here (bytes out of [`remove_background`], files of
    `u2net-hf remove`).

    By default zlib's run-length strategy: on 1920x1080 cut-outs, masks and flattened photos it wrote files
    0.90-1.04 times the size of Pillow's default (level 6) in 0.2-0.6 of the time (0.2-0.3 on the cut-outs of
    busy photos, which take longest), and encoding the PNG is the slowest step of removing a background from a
    photo (see docs/performance.md).

    Args:
        compress_level (`int`, *optional*):
            0-9: zlib's usual strategy at that level instead (9: smallest and slowest).
    """
    if compress_level is None:
        return {"compress_type": zlib.Z_RLE}
    return {"compress_level": compress_level}


def _convert(result: PIL.Image.Image, kind: type) -> ImageOutput:
    if kind is bytes:
        buffer = io.BytesIO()
        result.save(buffer, format="PNG", **png_save_options())
        return buffer.getvalue()
    if kind is np.ndarray:
        return np.asarray(result)
    return result


def _alpha_channel(image: PIL.Image.Image) -> np.ndarray | None:
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        return np.asarray(image.convert("RGBA").getchannel("A"))
    return None


def _read_file(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a folder, not an image file.") from None
    except PermissionError:
        raise ValueError(f"{path}: permission denied; cannot read it.") from None
    except OSError as error:
        raise ValueError(f"{path}: cannot read it ({error.strerror or error}).") from None
    if not data:
        raise ValueError(f"{path}: the file is empty (0 bytes), not an image.")
    return data


def _decode(data: bytes, name: str) -> PIL.Image.Image:
    if not data:
        raise ValueError(f"{name}: empty (0 bytes), not an image.")
    with _pillow_errors(name, data):
        with PIL.Image.open(io.BytesIO(data)) as image:
            if image.format == "PNG":
                image.verify()  # checks every chunk's CRC, which decoding does not
        with PIL.Image.open(io.BytesIO(data)) as image:
            image.load()
            # A new single-frame image: detached from the file, first frame only, orientation applied.
            return PIL.ImageOps.exif_transpose(image)


class _pillow_errors:
    """Turn whatever Pillow raises on a bad image into a one-line `ValueError` naming the image."""

    def __init__(self, name: str, data: bytes | None = None):
        self.name = name
        self.data = data

    def __enter__(self):
        return self

    def __exit__(self, error_type, error, traceback):
        if error is None or not isinstance(error, Exception):
            return False
        raise ValueError(f"{self.name}: {self._describe(error)}") from error

    def _describe(self, error: Exception) -> str:
        text = " ".join(str(error).split()) or type(error).__name__
        if isinstance(error, PIL.Image.DecompressionBombError):
            sizes = re.search(r"\((\d+) pixels\) exceeds limit of (\d+)", text)
            found = f"{int(sizes[1]):,} pixels, over Pillow's limit of {int(sizes[2]):,}" if sizes else text
            return (
                f"refused as a possible decompression bomb: {found} (2 x PIL.Image.MAX_IMAGE_PIXELS; raise that only "
                "for files you trust)."
            )
        if isinstance(error, MemoryError):
            return "not enough memory to decode it."
        kind = self._sniff()
        if isinstance(error, PIL.UnidentifiedImageError):
            if kind:
                return f"a broken {kind} file (corrupt header or bad checksum); Pillow cannot read it."
            return "not an image file Pillow can read (unknown format)."
        kind = kind or "image"
        chunk = re.search(r"checksum in b'(\w{4})'", text)
        if chunk:
            return f"corrupt {kind} file: bad checksum in its {chunk[1]} chunk; the file is damaged."
        if text.startswith("image file is truncated"):
            detail = text.removeprefix("image file is truncated").strip()
            return f"truncated {kind} file {detail}; the file is incomplete.".replace("  ", " ")
        return f"corrupt {kind} file: {text}."

    def _sniff(self) -> str | None:
        if self.data is None:
            return None
        return next((kind for signature, kind in _KNOWN_SIGNATURES.items() if self.data.startswith(signature)), None)


def _array_to_image(array: np.ndarray, name: str) -> PIL.Image.Image:
    # The processor's conversion decides how dtypes scale; the alpha channel is scaled the same way.
    try:
        rgb = to_rgb_array(array)
        alpha = to_rgb_array(array[..., -1]) if array.ndim == 3 and array.shape[2] in (2, 4) else None
    except ValueError as error:
        # The processor's messages speak of "Image 0": here there is one array, named by `name`.
        message = " ".join(str(error).split()).replace("Image 0 ", "the array ", 1)
        raise ValueError(f"{name}: {message}") from None
    rgb = PIL.Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), mode="RGB")
    if alpha is None:
        return rgb
    rgb.putalpha(PIL.Image.fromarray(np.clip(np.rint(alpha[..., 0]), 0, 255).astype(np.uint8), mode="L"))
    return rgb


__all__ = [
    "BACKENDS",
    "load_image",
    "load_remover",
    "parse_color",
    "png_save_options",
    "remove_background",
    "remove_backgrounds",
    "resolve_device",
]
