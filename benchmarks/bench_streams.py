# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Streams, side by side with rembg: raw frames from a pipe (`u2net-hf b` against `rembg b`, same frames, same
U2-NetP weights: rembg's official u2netp.onnx and our u2net-lite, converted from that file), video files, and the
flicker of the masks with and without temporal smoothing.

1. Raw frames: the frames of a camera pan over scikit-image's astronaut photo, as raw RGB24 in a file, piped into
   `rembg b W H -o out-%03u.png -m u2netp` and into `u2net-hf b W H -o out-%03u.png` (whole processes, start-up
   included, each its own output folder); frames/s = frames / wall time, best of `--repeat` runs, alternated.
2. Video: `u2net_hf.video.remove_video` on the same frames as an H.264 clip, to .webm (VP9 with alpha), with and
   without smoothing: frames/s.
3. Flicker on a static-camera clip (the astronaut photo, still, with sensor noise and H.264 coding): the mean
   absolute change of the alpha between consecutive frames, with and without smoothing.

    python benchmarks/bench_streams.py                      # 640x360, 96 frames, bundled u2net-lite
    python benchmarks/bench_streams.py --size 1280x720 --frames 48 --device cuda

Needs the video extra and the rembg peer (benchmarks/rembg_peer.py sets it up).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import PIL.Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rembg_peer import rembg_peer

REPO_ROOT = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the frames (default: 640x360)")
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--model", default="u2net-lite")
    parser.add_argument("-b", "--batch-size", type=int, default=4)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each raw-frames command (default: 2)")
    parser.add_argument("--rembg-venv", help="a venv with rembg (default: the peer's cache)")
    return parser.parse_args()


def pan(width: int, height: int, count: int) -> list[np.ndarray]:
    """A camera pan across the astronaut photo: every pixel moves, as in a handheld shot."""
    from skimage import data

    photo = PIL.Image.fromarray(data.astronaut())
    frames = []
    for k in range(count):
        shift = k / max(count - 1, 1)
        left, top = int(10 + 80 * shift), int(60 + 20 * shift)
        box = (left, top, left + 420, top + round(420 * height / width))
        frames.append(np.asarray(photo.crop(box).resize((width, height), PIL.Image.Resampling.BILINEAR)))
    return frames


def still(width: int, height: int, count: int) -> list[np.ndarray]:
    """A static camera: the same view every frame, with sensor noise of its own (sigma 3 levels)."""
    from skimage import data

    view = np.asarray(PIL.Image.fromarray(data.astronaut()).crop((10, 60, 430, 60 + 420 * height // width)))
    view = np.asarray(PIL.Image.fromarray(view).resize((width, height), PIL.Image.Resampling.BILINEAR))
    rng = np.random.default_rng(0)
    return [np.clip(view + rng.normal(0, 3, view.shape), 0, 255).astype(np.uint8) for _ in range(count)]


def write_clip(path: Path, frames: list[np.ndarray], fps: int) -> None:
    import av

    with av.open(str(path), "w") as clip:
        stream = clip.add_stream("libx264", rate=fps, options={"crf": "23"})
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for k, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = k
            clip.mux(stream.encode(frame))
        clip.mux(stream.encode(None))


def timed(command: list[str], stdin: Path, env: dict, output: Path) -> float:
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    start = time.perf_counter()
    # Through a real pipe, as from ffmpeg (rembg's `b` reads stdin with asyncio, which takes pipes only).
    with subprocess.Popen(["cat", str(stdin)], stdout=subprocess.PIPE) as sender:
        result = subprocess.run(command, stdin=sender.stdout, env=env, cwd=output, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return wall


def raw_frames_rows(args, frames: list[np.ndarray], folder: Path) -> list[tuple[str, str, float]]:
    height, width = frames[0].shape[:2]
    raw = folder / "frames.rgb24"
    raw.write_bytes(b"".join(frame.tobytes() for frame in frames))
    peer = rembg_peer(args.rembg_venv)
    ours_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    rembg = [str(peer.command), "b", str(width), str(height), "-o", "out-%03u.png", "-m", "u2netp"]
    ours = [sys.executable, "-m", "u2net_hf", "b", str(width), str(height), "-o", "out-%03u.png"]
    ours += ["-m", args.model, "-b", str(args.batch_size), "-q"]
    if args.device != "auto":
        ours += ["--device", args.device]
    commands = {  # row name: (command, its environment, the part of it the table shows)
        f"rembg {peer.version} `b` (-m u2netp)": (rembg, peer.env, rembg[1:]),
        f"u2net-hf `b` (-m {args.model}, -b {args.batch_size})": (ours, ours_env, ours[3:]),
        "same, `--int8`": ([*ours, "--int8"], ours_env, [*ours[3:], "--int8"]),
    }
    best = dict.fromkeys(commands, float("inf"))
    for _ in range(args.repeat):
        for index, (name, (command, env, _)) in enumerate(commands.items()):
            best[name] = min(best[name], timed(command, raw, env, folder / f"run-{index}"))
    count = len(frames)
    for index, name in enumerate(commands):
        assert len(list((folder / f"run-{index}").glob("out-*.png"))) == count, name
    return [(name, " ".join(shown), count / best[name]) for name, (_, _, shown) in commands.items()]


def video_rows(args, session, frames: list[np.ndarray], folder: Path) -> list[tuple[str, float]]:
    from u2net_hf.video import remove_video

    clip = folder / "pan.mp4"
    write_clip(clip, frames, args.fps)
    rows = []
    for label, smoothing in (("smoothing on (default)", 0.6), ("--no-smoothing", 0)):
        start = time.perf_counter()
        result = remove_video(session, clip, folder / "pan.webm", batch_size=args.batch_size, smoothing=smoothing)
        rows.append((f"remove_video to .webm (VP9 + alpha), {label}", result.frames / (time.perf_counter() - start)))
    return rows


def flicker_rows(args, session, frames: list[np.ndarray], folder: Path) -> list[tuple[str, float, float]]:
    import av

    from u2net_hf.video import flicker, remove_video

    clip = folder / "still.mp4"
    write_clip(clip, frames, args.fps)
    rows = []
    for label, smoothing in (("no smoothing", 0), ("smoothing 0.6 (default)", 0.6), ("smoothing 0.8", 0.8)):
        remove_video(session, clip, folder / "still.avi", batch_size=args.batch_size, smoothing=smoothing)
        with av.open(str(folder / "still.avi")) as out:
            alphas = [frame.to_ndarray(format="rgba")[..., 3] for frame in out.decode(video=0)]
        edge = (np.stack(alphas) > 12).any(axis=0) & (np.stack(alphas) < 243).any(axis=0)
        rows.append((label, flicker(alphas), flicker(alphas, edge)))
    return rows


def main() -> None:
    args = parse_args()
    width, height = (int(value) for value in args.size.lower().split("x"))
    from u2net_hf import new_session

    session = new_session(args.model, device=None if args.device == "auto" else args.device)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; {session!r}\n")
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        frames = pan(width, height, args.frames)
        raw_rows = raw_frames_rows(args, frames, folder)
        print(f"Raw RGB24 frames, {width}x{height}, {args.frames} frames, to numbered PNGs (whole processes):\n")
        print("| | command | frames/s | vs rembg |\n|---|---|---:|---:|")
        for name, command, fps in raw_rows:
            print(f"| {name} | `{command}` | {fps:.2f} | {fps / raw_rows[0][2]:.2f}x |")
        print(f"\nVideo files, {width}x{height}, {args.frames} frames at {args.fps} fps (in one process):\n")
        print("| | frames/s |\n|---|---:|")
        for name, fps in video_rows(args, session, frames, folder):
            print(f"| {name} | {fps:.2f} |")
        count = min(args.frames, 48)
        print(f"\nFlicker, static camera ({width}x{height}, {count} frames, sensor noise + H.264 crf 23):\n")
        print("| | mean abs. alpha change (0-255), all pixels | on the subject's edges |\n|---|---:|---:|")
        for name, everywhere, edges in flicker_rows(args, session, still(width, height, count), folder):
            print(f"| {name} | {everywhere:.3f} | {edges:.3f} |")


if __name__ == "__main__":
    main()
