# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Raw video frames: the background removed from a stream of RGB24 frames, such as `ffmpeg -f rawvideo -pix_fmt
rgb24 pipe:1` sends, batched through a session.

The frames come in as exactly `width * height * 3` bytes each, with no framing; they go out as numbered image files
(a printf pattern such as `out-%03d.png`, each written atomically) or as raw frames on a binary stream, so that a
second ffmpeg can encode them (see [`raw_pixel_format`] for the `-pix_fmt` to give it). A stream that ends inside a
frame is an error that names the frame, after every complete frame before it has been written.

    ffmpeg -i clip.mp4 -f rawvideo -pix_fmt rgb24 pipe:1 | u2net-hf remove - out-%04d.png --raw-frames 1280x720
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .background import parse_color
from .images import output_format, printable_name, save_image

_SIZE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")
# The largest frame accepted: 16K video (15360x8640) with room to spare; a typo such as 320x2400000 is refused
# before a buffer of gigabytes is asked for.
MAX_FRAME_PIXELS = 2**28


def parse_frame_size(text: str) -> tuple[int, int]:
    """
    Read a frame size written as ffmpeg writes it, `WIDTHxHEIGHT`.

    Returns:
        `tuple[int, int]`: `(width, height)`.

    Raises:
        `ValueError`: one line, for anything else than two positive integers joined by an `x`.

    Example:

    ```python
    >>> from u2net_hf.frames import parse_frame_size

    >>> parse_frame_size("320x240")
    (320, 240)
    ```
    """
    match = _SIZE.match(str(text))
    width, height = (int(match[1]), int(match[2])) if match else (0, 0)
    if width < 1 or height < 1:
        raise ValueError(f"a frame size is WIDTHxHEIGHT in pixels, such as 1280x720, got {text!r}.")
    if width * height > MAX_FRAME_PIXELS:
        raise ValueError(f"a frame of {width}x{height} pixels is larger than any video; check the size.")
    return width, height


@dataclass
class FrameReader:
    """
    The frames of a raw RGB24 stream, one `(height, width, 3)` uint8 array each, read as they are needed.

    Iterating stops quietly at the end of the stream; a stream that ends inside a frame leaves `error` set (a
    `ValueError` naming the frame) instead of raising, so that whoever consumes the frames can first finish the
    complete ones: [`remove_raw_frames`] raises it at the end.

    Args:
        stream (binary file object):
            Where the frames come from, such as `sys.stdin.buffer`.
        width (`int`): Frame width in pixels.
        height (`int`): Frame height in pixels.
        name (`str`, *optional*, defaults to `"<stdin>"`): What to call the stream in messages.
        first_number (`int`, *optional*, defaults to 0): The number of the first frame, in messages.
    """

    stream: BinaryIO
    width: int
    height: int
    name: str = "<stdin>"
    first_number: int = 0
    count: int = 0
    error: ValueError | None = None

    @property
    def frame_bytes(self) -> int:
        return self.width * self.height * 3

    def __iter__(self) -> Iterator[np.ndarray]:
        while (data := self._read_frame()) is not None:
            self.count += 1
            yield np.frombuffer(data, dtype=np.uint8).reshape(self.height, self.width, 3)

    def _read_frame(self) -> bytes | None:
        expected = self.frame_bytes
        chunks, size = [], 0
        while size < expected:
            chunk = self.stream.read(expected - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size == expected:
            return b"".join(chunks)
        if size:
            number = self.first_number + self.count
            self.error = ValueError(
                f"{self.name}: frame {number} is incomplete: the stream ended after {size:,} of its {expected:,} "
                f"bytes ({self.width}x{self.height} RGB24). Check that WxH is the size of the frames sent "
                "(ffmpeg's -s or scale) and that they are -pix_fmt rgb24."
            )
        return None


def raw_pixel_format(mask_only: bool = False, bg_color=None) -> str:
    """
    The ffmpeg `-pix_fmt` of the raw frames [`remove_raw_frames`] writes to a stream: `"rgba"` for cut-outs,
    `"gray"` for masks, `"rgb24"` over an opaque colour.

    Example:

    ```python
    >>> from u2net_hf.frames import raw_pixel_format

    >>> raw_pixel_format(), raw_pixel_format(mask_only=True), raw_pixel_format(bg_color=(255, 255, 255))
    ('rgba', 'gray', 'rgb24')
    ```
    """
    if mask_only:
        return "gray"
    if bg_color is not None and len(parse_color(bg_color)) == 3:
        return "rgb24"
    return "rgba"


def check_frame_pattern(pattern: str | os.PathLike) -> str:
    """
    Check a printf pattern for numbered frame files (`out-%03d.png`, rembg's `out-%03u.png`): exactly one integer
    field, and an image extension Pillow writes.

    Returns:
        `str`: Pillow's format name for the files (`"PNG"`).

    Raises:
        `ValueError`: one line for a pattern without exactly one integer field, or an unknown extension.

    Example:

    ```python
    >>> from u2net_hf.frames import check_frame_pattern

    >>> check_frame_pattern("frames/out-%03u.png")
    'PNG'
    ```
    """
    pattern = os.fspath(pattern)
    try:
        first, second = pattern % 0, pattern % 1
    except (TypeError, ValueError):
        first = second = None
    if first is None or first == second:
        raise ValueError(
            f"{printable_name(pattern)}: frame files are named by a printf pattern with one number field, such as "
            "out-%04d.png (out-0000.png, out-0001.png, ...)."
        )
    return output_format(first)


def remove_raw_frames(
    session,
    stream: BinaryIO,
    size: tuple[int, int],
    output: str | os.PathLike | BinaryIO,
    *,
    batch_size: int = 4,
    start_number: int = 0,
    name: str = "<stdin>",
    on_frame=None,
    **options,
) -> int:
    """
    Remove the background of every raw RGB24 frame of `stream`, `batch_size` frames per forward pass of the model
    (see [`~u2net_hf.Session.remove_many`]), and write the results as they come.

    Args:
        session ([`~u2net_hf.Session`]):
            The loaded model (see [`~u2net_hf.new_session`]).
        stream (binary file object):
            The frames: exactly `width * height * 3` bytes each, back to back (`sys.stdin.buffer`).
        size (`tuple[int, int]`):
            `(width, height)` of the frames (see [`parse_frame_size`]).
        output (`str`, `os.PathLike` or binary file object):
            A printf pattern such as `"out-%04d.png"`: one file per frame, numbered from `start_number`, each
            written atomically; or a binary stream, which gets the results as raw frames of
            [`raw_pixel_format`] (RGBA cut-outs by default) back to back.
        batch_size (`int`, *optional*, defaults to 4):
            Frames per forward pass.
        start_number (`int`, *optional*, defaults to 0):
            The number of the first frame's file (rembg's `b` starts at 0, ffmpeg's image writer at 1).
        name (`str`, *optional*, defaults to `"<stdin>"`):
            What to call the stream in messages.
        on_frame (`Callable[[int], None]`, *optional*):
            Called with each frame's number once its result is written (a progress bar's `update`).
        options:
            Removal options: `mask_only`, `bg_color`, `threshold`, `compress_level`, ... (see
            [`~u2net_hf.remove_background`]).

    Returns:
        `int`: the number of frames written.

    Raises:
        `ValueError`: one line when the stream ends inside a frame (raised after every complete frame is written),
        when it holds no frame at all, or for a bad pattern; `OSError` when a file cannot be written.

    Example:

    ```python
    >>> import io
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from u2net_hf import new_session
    >>> from u2net_hf.frames import remove_raw_frames

    >>> frames = np.zeros((3, 48, 64, 3), dtype=np.uint8)  # three black 64x48 frames
    >>> remove_raw_frames(new_session(), io.BytesIO(frames.tobytes()), (64, 48), "frames/out-%03d.png")
    3
    >>> sorted(path.name for path in Path("frames").iterdir())
    ['out-000.png', 'out-001.png', 'out-002.png']
    ```
    """
    width, height = size
    reader = FrameReader(stream, width, height, name=name, first_number=start_number)
    to_files = isinstance(output, (str, os.PathLike))
    if to_files:
        fmt = check_frame_pattern(output)
        if fmt == "JPEG" and raw_pixel_format(options.get("mask_only", False), options.get("bg_color")) == "rgba":
            raise ValueError(
                f"{printable_name(output)}: JPEG cannot store transparency; name the frames .png or .webp, or "
                "flatten them onto a colour (bg_color, -bgc R G B)."
            )
        options = {**options, "output_format": fmt}  # encoded in the session's worker threads, one per frame
    results = session.remove_many(iter(reader), batch_size=batch_size, **options)
    number = start_number
    # closing(): a failed write (a full disk, a closed pipe) shuts the session's threads down here and now.
    with contextlib.closing(results):
        for result in results:
            if to_files:
                save_image(result, Path(os.fspath(output) % number))
            else:
                output.write(np.ascontiguousarray(result).tobytes())
                output.flush()
            if on_frame is not None:
                on_frame(number)
            number += 1
    if reader.error is not None:
        raise reader.error
    if reader.count == 0:
        raise ValueError(f"{name}: no frames: the stream was empty (is the program that sends them running?).")
    return reader.count


__all__ = [
    "MAX_FRAME_PIXELS",
    "FrameReader",
    "check_frame_pattern",
    "parse_frame_size",
    "raw_pixel_format",
    "remove_raw_frames",
]
