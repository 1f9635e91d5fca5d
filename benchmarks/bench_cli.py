# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Whole-process timings of `u2net-hf` against the real rembg CLI, side by side in one run.

Each case runs our command and rembg's in turn (alternating, so that a machine that slows down slows both),
`--repeat` times, and reports medians of the wall time and of the peak RSS of the process, and their ratios:

- `--help`;
- one 1920x1080 JPEG -> PNG cut-out (`u2net-hf remove` / `rembg i -m u2netp`);
- a folder of 24 photos of mixed sizes, 800x600 to 3024x2016 (`u2net-hf remove DIR OUT` / `rembg p -m u2netp`);
- the same two with `--int8` (ours; rembg has no int8 model).

rembg is the PyPI package `rembg[cpu,cli]` in a venv of its own, running the official `u2netp.onnx` offline
(see benchmarks/rembg_peer.py); both run U2-NetP on onnxruntime on the same cores. The photos are scikit-image's,
resized, written as JPEGs into a scratch folder.

    python benchmarks/bench_cli.py                     # sets the rembg venv up on first use
    python benchmarks/bench_cli.py --repeat 3 --rembg-venv /path/to/venv
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rembg_peer import rembg_peer

# Runs a command and prints its wall time and the peak RSS of the processes it waited for (KiB on Linux).
MEASURE = (
    "import resource, subprocess, sys, time\n"
    "started = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode\n"
    "elapsed = time.perf_counter() - started\n"
    "print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
)
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field")
FOLDER_SIZES = [(800, 600), (1024, 768), (1280, 960), (1600, 1200), (1920, 1080), (2048, 1536), (2592, 1944),
                (3024, 2016)]  # fmt: skip


def make_photos(folder: Path) -> tuple[Path, Path]:
    """One 1080p JPEG, and a folder of 24 JPEGs of mixed sizes."""
    import numpy as np
    import PIL.Image
    from skimage import data

    sources = []
    for name in PHOTOS:
        image = getattr(data, name)()
        image = image[0] if isinstance(image, tuple) else image
        sources.append(PIL.Image.fromarray(np.asarray(image)[..., :3]).convert("RGB"))
    single = folder / "photo-1080p.jpg"
    sources[0].resize((1920, 1080), PIL.Image.Resampling.LANCZOS).save(single, quality=92)
    many = folder / "photos"
    many.mkdir()
    for index in range(24):
        size = FOLDER_SIZES[index % len(FOLDER_SIZES)]
        sources[index % len(sources)].resize(size, PIL.Image.Resampling.LANCZOS).save(
            many / f"photo-{index:02d}.jpg", quality=92
        )
    return single, many


def measure(command: list[str], env: dict, output: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (GiB) of one run, into a fresh `output` (removed first: neither CLI
    overwrites, and both would skip)."""
    if output is not None and output.is_dir():
        shutil.rmtree(output)
    elif output is not None:
        output.unlink(missing_ok=True)
    result = subprocess.run([sys.executable, "-c", MEASURE, *command], env=env, capture_output=True, text=True)
    seconds, rss_kib, code = result.stdout.split()
    if code != "0":
        raise RuntimeError(f"{' '.join(command)} failed (exit {code}): {result.stderr[-500:]}")
    return float(seconds), int(rss_kib) / 2**20  # GiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command (medians; default 5)")
    parser.add_argument("--rembg-venv", help="an existing venv with rembg[cpu,cli] (made on first use otherwise)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    peer = rembg_peer(args.rembg_venv)
    ours = str(Path(sys.executable).with_name("u2net-hf"))
    env = peer.env
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as scratch:
        scratch = Path(scratch)
        single, many = make_photos(scratch)
        out_file, out_dir = scratch / "out.png", scratch / "out"
        cases = {
            "--help": ([ours, "--help"], [str(peer.command), "--help"], None),
            "1080p photo": (
                [ours, "remove", str(single), str(out_file), "-q"],
                [str(peer.command), "i", "-m", "u2netp", str(single), str(out_file)],
                out_file,
            ),
            "24-photo folder": (
                [ours, "remove", str(many), str(out_dir), "-q"],
                [str(peer.command), "p", "-m", "u2netp", str(many), str(out_dir)],
                out_dir,
            ),
            "1080p photo --int8": (
                [ours, "remove", str(single), str(out_file), "-q", "--int8"],
                [str(peer.command), "i", "-m", "u2netp", str(single), str(out_file)],
                out_file,
            ),
            "24-photo folder --int8": (
                [ours, "remove", str(many), str(out_dir), "-q", "--int8"],
                [str(peer.command), "p", "-m", "u2netp", str(many), str(out_dir)],
                out_dir,
            ),
        }
        results = {}
        for name, (our_command, their_command, output) in cases.items():
            measure(our_command, env, output)  # warm the page cache and any first-run work
            measure(their_command, env, output)
            runs = {"ours": [], "rembg": []}
            for _ in range(args.repeat):
                runs["ours"].append(measure(our_command, env, output))
                runs["rembg"].append(measure(their_command, env, output))
            results[name] = {
                who: {
                    "seconds": statistics.median(run[0] for run in taken),
                    "peak_rss_gib": statistics.median(run[1] for run in taken),
                }
                for who, taken in runs.items()
            }
            print(f"  {name}: done", file=sys.stderr)

    print(
        f"\nu2net-hf CLI vs rembg {peer.version} CLI (U2-NetP on onnxruntime, offline), medians of {args.repeat} "
        f"runs, in turn; {platform.processor() or platform.machine()}, {os.cpu_count()} cores\n"
    )
    print("| case | u2net-hf wall | rembg wall | ratio | u2net-hf peak RSS | rembg peak RSS | ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, result in results.items():
        ours_, theirs = result["ours"], result["rembg"]
        print(
            f"| {name} | {ours_['seconds']:.2f} s | {theirs['seconds']:.2f} s | "
            f"{ours_['seconds'] / theirs['seconds']:.2f}x | {ours_['peak_rss_gib']:.2f} GiB | "
            f"{theirs['peak_rss_gib']:.2f} GiB | {ours_['peak_rss_gib'] / theirs['peak_rss_gib']:.2f}x |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
