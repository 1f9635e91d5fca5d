# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Memory of a long `u2net-hf remove` folder run on photo-sized images.

Writes a folder of JPEGs made from scikit-image's photos (astronaut, chelsea, coffee) resized to a realistic
size, runs `python -m u2net_hf remove` on it in a subprocess, and samples that process's resident memory
(RSS) as outputs appear. Prints one table row per checkpoint: images done, RSS, time.

    python benchmarks/bench_memory.py                       # 300 images of 1920x1280, bundled u2net-lite
    python benchmarks/bench_memory.py --num-images 1000 --size 4032x3024 --batch-size 8 --device cuda

Needs psutil and scikit-image (both in the `tests` extra).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import PIL.Image
import psutil


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-images", type=int, default=300)
    parser.add_argument("--size", default="1920x1280", help="WIDTHxHEIGHT of the photos (default: 1920x1280)")
    parser.add_argument("--model", default="u2net-lite")
    parser.add_argument("-b", "--batch-size", type=int, default=4)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--every", type=int, default=50, help="a table row every N images (default: 50)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--extra", default="", help="more `u2net-hf remove` options, e.g. '--compress-level 1 -j 16'")
    return parser.parse_args()


def make_photos(folder: Path, count: int, size: tuple[int, int]) -> None:
    """`count` JPEGs of `size`: 12 distinct ones (3 photos, each also flipped and at 2 crops) copied round."""
    from skimage import data

    folder.mkdir(parents=True)
    variants = []
    for photo in (data.astronaut(), data.chelsea(), data.coffee()):
        image = PIL.Image.fromarray(photo)
        for crop in (1.0, 0.8):
            width, height = image.size
            box = (0, 0, int(width * crop), int(height * crop))
            for flip in (False, True):
                variant = image.crop(box).resize(size, PIL.Image.Resampling.BICUBIC)
                variant = variant.transpose(PIL.Image.Transpose.FLIP_LEFT_RIGHT) if flip else variant
                path = folder / f"variant{len(variants):02d}.jpg"
                variant.save(path, quality=90)
                variants.append(path)
    for index in range(count):
        shutil.copyfile(variants[index % len(variants)], folder / f"photo{index:05d}.jpg")
    for path in variants:
        path.unlink()


def main() -> int:
    args = parse_args()
    width, height = (int(value) for value in args.size.lower().split("x"))
    root = Path(tempfile.mkdtemp(prefix="u2net-hf-bench-memory-"))
    source, output = root / "in", root / "out"
    try:
        make_photos(source, args.num_images, (width, height))
        command = [sys.executable, "-m", "u2net_hf", "remove", str(source), str(output), "-q"]
        command += ["-m", args.model, "-b", str(args.batch_size), "--device", args.device, *args.extra.split()]
        repository = str(Path(__file__).resolve().parents[1])
        environment = {**os.environ, "PYTHONPATH": repository + os.pathsep + os.environ.get("PYTHONPATH", "")}
        print(f"u2net-hf remove, {args.num_images} JPEGs of {width}x{height}, model {args.model}, ", end="")
        print(f"batch size {args.batch_size}, device {args.device}, {os.cpu_count()} CPUs\n")
        print("| images done | RSS (MiB) | time (s) |\n|---:|---:|---:|", flush=True)
        start = time.perf_counter()
        process = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
        rows, peak, next_row = [], 0, args.every
        watched = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                rss = watched.memory_info().rss
            except psutil.NoSuchProcess:
                break
            peak = max(peak, rss)
            done = sum(1 for _ in output.rglob("*.png")) if output.exists() else 0
            if done >= next_row:
                rows.append((done, rss, time.perf_counter() - start))
                print(f"| {done} | {rss / 2**20:.0f} | {rows[-1][2]:.1f} |", flush=True)
                next_row = (done // args.every + 1) * args.every
            time.sleep(0.05)
        stderr = process.communicate()[1]
        elapsed = time.perf_counter() - start
        if process.returncode != 0:
            print(stderr, file=sys.stderr)
            return process.returncode
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    print(f"\npeak RSS {peak / 2**20:.0f} MiB; total {elapsed:.1f} s ({args.num_images / elapsed:.2f} images/s)")
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        growth = 100 * (last[1] - first[1]) / first[1]
        print(f"RSS after {last[0]} images vs after {first[0]}: {growth:+.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
