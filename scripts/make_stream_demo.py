# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""The short clip of docs/streams.md and its animated before/after, made here with the bundled model.

Writes, under docs/assets/streams/:

- `clip.mp4`: 2 s at 8 fps, 160x120, H.264: a slow camera pan over scikit-image's astronaut photo (NASA, public
  domain), the clip the page's commands run on;
- `before-after.webp`: an animated WebP, the clip on the left and its cut-out (`u2net_hf.video.remove_video`,
  smoothing on, over a checkerboard to show the transparency) on the right.

    python scripts/make_stream_demo.py

Needs the video extra (PyAV) and scikit-image.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import av
import numpy as np
import PIL.Image

from u2net_hf import new_session
from u2net_hf.video import remove_video

ASSETS = Path(__file__).resolve().parents[1] / "docs" / "assets" / "streams"
WIDTH, HEIGHT, FPS, FRAMES = 160, 120, 8, 16


def pan_frames() -> list[np.ndarray]:
    """A camera pan across the astronaut photo: a 4:3 window sliding right and in a little, frame by frame."""
    from skimage import data

    photo = PIL.Image.fromarray(data.astronaut())
    frames = []
    for k in range(FRAMES):
        left = 20 + 6 * k
        box = (left, 40 + 2 * k, left + 400 - 4 * k, 40 + 2 * k + 300 - 3 * k)
        frames.append(np.asarray(photo.crop(box).resize((WIDTH, HEIGHT), PIL.Image.Resampling.LANCZOS)))
    return frames


def write_clip(path: Path, frames: list[np.ndarray]) -> None:
    with av.open(str(path), "w") as clip:
        stream = clip.add_stream("libx264", rate=FPS, options={"crf": "23"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for k, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = k
            clip.mux(stream.encode(frame))
        clip.mux(stream.encode(None))


def decoded(path: Path, fmt: str) -> list[np.ndarray]:
    with av.open(str(path)) as clip:
        return [frame.to_ndarray(format=fmt) for frame in clip.decode(video=0)]


def checkerboard(height: int, width: int, square: int = 8) -> np.ndarray:
    rows, cols = np.mgrid[0:height, 0:width]
    light = ((rows // square + cols // square) % 2).astype(bool)
    return np.where(light[..., None], np.uint8(235), np.uint8(200)).repeat(3, axis=2)


def main() -> None:
    ASSETS.mkdir(parents=True, exist_ok=True)
    clip = ASSETS / "clip.mp4"
    write_clip(clip, pan_frames())
    with tempfile.TemporaryDirectory() as folder:
        cutout = Path(folder) / "cutout.avi"  # lossless, so the demo shows the alpha the model gave
        remove_video(new_session("u2net-lite"), clip, cutout)
        pictures = []
        for before, after in zip(decoded(clip, "rgb24"), decoded(cutout, "rgba")):
            alpha = after[..., 3:].astype(np.float32) / 255
            shown = after[..., :3] * alpha + checkerboard(HEIGHT, WIDTH) * (1 - alpha)
            pictures.append(PIL.Image.fromarray(np.hstack([before, np.rint(shown).astype(np.uint8)])))
    pictures[0].save(
        ASSETS / "before-after.webp",
        save_all=True,
        append_images=pictures[1:],
        duration=1000 // FPS,
        loop=0,
        quality=80,
    )
    for path in sorted(ASSETS.iterdir()):
        print(f"{path.relative_to(ASSETS.parents[2])}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
