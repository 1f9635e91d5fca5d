# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Reading and writing images: the one place that decodes inputs (paths, bytes, PIL images, arrays) and encodes
and writes outputs (atomically, format from the file name).

Decoding gives a fully loaded PIL image with its EXIF orientation applied; every failure is a one-line
`ValueError` naming the image. Encoding picks Pillow's format from a file name and writes PNGs with zlib's
run-length strategy by default (see [`png_save_options`]).
"""

from __future__ import annotations

import io
import os
import re
import stat
import zlib
from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageOps

from .files import atomic_write
from .image_transforms_u2net import to_rgb_array

ImageInput = str | os.PathLike | bytes | bytearray | memoryview | PIL.Image.Image | np.ndarray

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
# Photo formats looked for in folders (the ones this Pillow cannot open are dropped by `image_extensions`).
_COMMON_IMAGE_EXTENSIONS = {
    ".apng", ".avif", ".bmp", ".gif", ".jfif", ".jp2", ".jpe", ".jpeg", ".jpg", ".pbm", ".pgm", ".png", ".pnm",
    ".ppm", ".qoi", ".tga", ".tif", ".tiff", ".webp",
}  # fmt: skip
# The most bytes read for one input (a file or stdin) unless `U2NET_HF_MAX_INPUT_BYTES` says otherwise: far above
# any photo (a 100-megapixel PNG is about 300 MB), far below what would exhaust a machine's memory.
DEFAULT_MAX_INPUT_BYTES = 512 * 1024**2
# The array dtypes `load_image` takes, by numpy kind: bool, unsigned and signed integers, floats.
ARRAY_KINDS = {"b": "bool", "u": "unsigned integers", "i": "integers", "f": "floats"}


def max_input_bytes() -> int:
    """The most bytes read for one input: `U2NET_HF_MAX_INPUT_BYTES` (a positive integer) or 512 MiB."""
    text = os.environ.get("U2NET_HF_MAX_INPUT_BYTES")
    if text is None:
        return DEFAULT_MAX_INPUT_BYTES
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"U2NET_HF_MAX_INPUT_BYTES must be a positive number of bytes, got {text!r}.")
    return value


def printable_name(name: str | os.PathLike) -> str:
    """A file name as messages show it: on one line, control characters (newlines, escapes) written as escapes
    such as `\\n`, so that a hostile name can neither split a message nor drive the terminal."""
    text = os.fspath(name)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def read_limited(stream, name: str, limit: int | None = None) -> bytes:
    """
    Read a binary stream (stdin, a pipe) to its end, but never more than `limit` bytes.

    Args:
        stream (binary file object):
            What to read, such as `sys.stdin.buffer`.
        name (`str`):
            What to call it in messages (`"<stdin>"`).
        limit (`int`, *optional*):
            The most bytes to accept; [`max_input_bytes`] by default.

    Raises:
        `ValueError`: one line when the stream goes on past the limit.
    """
    limit = max_input_bytes() if limit is None else limit
    chunks, size = [], 0
    while size <= limit:
        chunk = stream.read(min(1 << 20, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    raise ValueError(_too_large(name, f"more than {limit:,} bytes", limit))


def _too_large(name: str, found: str, limit: int) -> str:
    return (
        f"{name}: too large for an image input ({found}; the limit is {limit:,}); raise U2NET_HF_MAX_INPUT_BYTES "
        "for larger files."
    )


def load_image(image: ImageInput, *, name: str | None = None) -> PIL.Image.Image:
    """
    Open any supported image as a fully decoded PIL image with its EXIF orientation applied.

    Only the first frame of animated or multi-page files (GIF, APNG, WebP, TIFF) is kept. PNG chunk checksums
    are verified (Pillow skips that when decoding). Images larger than Pillow's decompression-bomb limit
    (`2 * PIL.Image.MAX_IMAGE_PIXELS`) are refused before any pixel is decoded.

    Args:
        image (`str`, `os.PathLike`, `bytes`, `PIL.Image.Image` or `np.ndarray`):
            A path to an image file (a regular file of at most [`max_input_bytes`]: FIFOs, sockets and devices
            are refused without being read), the encoded bytes of one, a PIL image, or an array of shape
            `(height, width)` or `(height, width, channels)` with 1 to 4 channels (uint8, uint16, bool or float
            in [0, 1]). Arrays with 2 or 4 channels keep their last channel as alpha.
        name (`str`, *optional*):
            What to call the image in error messages; the path, or `"image"`, by default.

    Returns:
        `PIL.Image.Image`: a new image, independent of the file and of the object passed in.

    Raises:
        `ValueError`: one line naming the image and what is wrong with it (missing, empty, not an image,
        truncated, corrupt, too large, not a regular file, over [`max_input_bytes`]), or for an array of a dtype
        it does not take.
        `TypeError`: for an object that is not an image.

    Example:

    ```python
    >>> from u2net_hf.images import load_image

    >>> load_image("docs/assets/astronaut.jpg").size
    (512, 512)
    ```
    """
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        return _decode(_read_file(path, name or printable_name(path)), name or printable_name(path))
    name = name or "image"
    if isinstance(image, (bytes, bytearray, memoryview)):
        return _decode(bytes(image), name)
    if isinstance(image, PIL.Image.Image):
        with _pillow_errors(name):
            return PIL.ImageOps.exif_transpose(image)
    if isinstance(image, np.ndarray):
        return _array_to_image(image, name)
    raise TypeError(f"{name} is a {type(image).__name__}; expected a file path, bytes, a PIL image or a numpy array.")


def image_name(image: ImageInput, index: int) -> str:
    """What to call the `index`-th image of a run in messages: its path, or `"image N"`."""
    return printable_name(image) if isinstance(image, (str, os.PathLike)) else f"image {index}"


def rgb_and_alpha(image: PIL.Image.Image, name: str = "image") -> tuple[np.ndarray, np.ndarray | None]:
    """
    The 8-bit RGB pixels of a decoded image, as the image processor sees them, and its own alpha channel
    (`None` when it has none).
    """
    with _pillow_errors(name):
        # The processor's own conversion, so that the model and the cut-out see the same pixels.
        rgb = to_rgb_array(image)
        alpha = _alpha_channel(image)
    if rgb.dtype != np.uint8:
        rgb = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return rgb, alpha


def image_extensions() -> set[str]:
    """The file extensions looked for in folders: common photo formats that this Pillow can open."""
    PIL.Image.init()
    readable = {ext for ext, fmt in PIL.Image.registered_extensions().items() if fmt in PIL.Image.OPEN}
    return _COMMON_IMAGE_EXTENSIONS & readable


def output_format(path: str | os.PathLike) -> str:
    """
    Pillow's format name for writing `path`, from its extension (`"PNG"` for `cutout.png`).

    Raises:
        `ValueError`: for an extension Pillow cannot write.
    """
    path = Path(path)
    PIL.Image.init()
    fmt = PIL.Image.registered_extensions().get(path.suffix.lower())
    if fmt is None or fmt not in PIL.Image.SAVE:
        raise ValueError(f"{path}: unknown output format {path.suffix!r}; name the output .png (or .webp, .tif).")
    return fmt


def png_save_options(compress_level: int | None = None) -> dict:
    """
    Pillow's `save` options for the PNGs written here (bytes out of [`~u2net_hf.remove_background`], files of
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


def encode_image(image: PIL.Image.Image, fmt: str = "PNG", **params) -> bytes:
    """
    Encode `image` in Pillow format `fmt` (`"PNG"`, `"WEBP"`, ...). PNGs get [`png_save_options`] unless `params`
    say otherwise; other `params` go to `PIL.Image.Image.save`.
    """
    if fmt.upper() == "PNG" and not params:
        params = png_save_options()
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def save_image(image: PIL.Image.Image | bytes, path: str | os.PathLike, **params) -> Path:
    """
    Write an image (a PIL image, or bytes already encoded) to `path` so that readers only ever see the complete
    file (see [`~u2net_hf.files.atomic_write`]); the format comes from the extension.

    Args:
        image (`PIL.Image.Image` or `bytes`):
            The image, or its encoded bytes (written as they are).
        path (`str` or `os.PathLike`):
            The file to write; its folder is created when missing.
        params:
            Options for `PIL.Image.Image.save`; PNGs get [`png_save_options`] when none are given.

    Raises:
        `ValueError`: for an unknown extension. `OSError`: one line naming the file when it cannot be written.
    """
    path = Path(path)
    fmt = output_format(path)
    if fmt == "PNG" and not params:
        params = png_save_options()
    try:
        with atomic_write(path) as file:
            if isinstance(image, (bytes, bytearray, memoryview)):
                file.write(image)
            else:
                image.save(file, format=fmt, **params)
    except OSError as error:
        raise OSError(f"{printable_name(path)}: cannot write it ({error.strerror or error}).") from None
    return path


def _alpha_channel(image: PIL.Image.Image) -> np.ndarray | None:
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        return np.asarray(image.convert("RGBA").getchannel("A"))
    return None


def _read_file(path: Path, name: str) -> bytes:
    limit = max_input_bytes()
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever; the file is then
        # checked through its descriptor (no race with a rename) and only regular files are read.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ValueError(f"{name}: no such file.") from None
    except IsADirectoryError:
        raise ValueError(f"{name}: is a folder, not an image file.") from None
    except PermissionError:
        raise ValueError(f"{name}: permission denied; cannot read it.") from None
    except OSError as error:
        kind = _file_kind(os.stat(path).st_mode) if not is_regular_file(path) and path.exists() else None
        if kind is not None:  # a socket cannot even be opened
            raise ValueError(f"{name}: is {kind}, not a regular file; refused without reading it.") from None
        raise ValueError(f"{name}: cannot read it ({error.strerror or error}).") from None
    info = os.fstat(descriptor)
    refusal = None
    if stat.S_ISDIR(info.st_mode):
        refusal = f"{name}: is a folder, not an image file."
    elif not stat.S_ISREG(info.st_mode):
        refusal = f"{name}: is {_file_kind(info.st_mode)}, not a regular file; refused without reading it."
    elif info.st_size > limit:
        refusal = _too_large(name, f"{info.st_size:,} bytes", limit)
    if refusal is not None:
        os.close(descriptor)
        raise ValueError(refusal)
    with os.fdopen(descriptor, "rb") as file:
        try:
            data = file.read(limit + 1)  # a file that grows while read still stops at the limit
        except OSError as error:
            raise ValueError(f"{name}: cannot read it ({error.strerror or error}).") from None
    if len(data) > limit:
        raise ValueError(_too_large(name, f"more than {limit:,} bytes", limit))
    if not data:
        raise ValueError(f"{name}: the file is empty (0 bytes), not an image.")
    return data


def _file_kind(mode: int) -> str:
    kinds = {stat.S_ISFIFO: "a FIFO (named pipe)", stat.S_ISSOCK: "a socket", stat.S_ISCHR: "a character device"}
    kinds[stat.S_ISBLK] = "a block device"
    return next((kind for test, kind in kinds.items() if test(mode)), "not a regular file")


def is_regular_file(path: str | os.PathLike) -> bool:
    """Whether `path` is a regular file (following symlinks), found without opening it: folder walks take
    these alone, never FIFOs, sockets or devices."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


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
    if array.dtype.kind not in ARRAY_KINDS:
        raise ValueError(
            f"{name}: an array of dtype {array.dtype} is not an image; give {', '.join(ARRAY_KINDS.values())} "
            "(uint8, uint16, bool or float in [0, 1])."
        )
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
    "ImageInput",
    "encode_image",
    "image_extensions",
    "image_name",
    "is_regular_file",
    "load_image",
    "max_input_bytes",
    "output_format",
    "png_save_options",
    "printable_name",
    "read_limited",
    "rgb_and_alpha",
    "save_image",
]
