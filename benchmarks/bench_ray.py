"""How background removal scales with Ray actors: the same folder of photos through the single-process command
and through `remove_backgrounds_ray` with 1, 2, ... actors, side by side, with the bundled model.

    python benchmarks/bench_ray.py                  # 48 photos of 1280x960, actors 1 and 2, on the CPU
    python benchmarks/bench_ray.py --actors 1 2 4 --gpus-per-actor 1

Each run writes into a fresh output folder; the Ray cluster is started once, before the timed runs, and an
untimed warm-up job loads the model on every actor's node first (as a long job amortises it).
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

import PIL.Image


def make_photos(folder: Path, count: int, size: tuple[int, int]) -> None:
    from skimage import data

    sources = [getattr(data, name)() for name in ("astronaut", "chelsea", "coffee", "rocket", "camera")]
    folder.mkdir(parents=True)
    for index in range(count):
        photo = PIL.Image.fromarray(sources[index % len(sources)]).convert("RGB").resize(size)
        photo.save(folder / f"photo{index:03d}.jpg", quality=92)


def time_cli(source: Path, output: Path, threads: int) -> float:
    env = {**os.environ, "U2NET_HF_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "u2net_hf", "remove", str(source), str(output), "-q"], check=True, env=env)
    return time.perf_counter() - start


def time_ray(source: Path, output: Path, actors: int, gpus: float, batch_size: int) -> float:
    from u2net_hf.ray import remove_backgrounds_ray

    start = time.perf_counter()
    summary = remove_backgrounds_ray(
        source, output, num_actors=actors, num_cpus_per_actor=1, num_gpus_per_actor=gpus, batch_size=batch_size
    )
    elapsed = time.perf_counter() - start
    assert not summary.failed, summary.failed
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--size", type=int, nargs=2, default=(1280, 960), metavar=("W", "H"))
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--gpus-per-actor", type=float, default=0)
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args()

    import ray

    scratch = Path(tempfile.mkdtemp(prefix="u2net-hf-bench-ray-"))
    try:
        source = scratch / "photos"
        make_photos(source, args.photos, tuple(args.size))
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        ray.init(num_cpus=max(cpus, max(args.actors)), include_dashboard=False, log_to_driver=False)
        from u2net_hf.ray import remove_backgrounds_ray

        warm = scratch / "warm"
        make_photos(warm, 4, (64, 48))
        remove_backgrounds_ray(warm, scratch / "warm-out", num_actors=max(args.actors))  # untimed

        rows = [("u2net-hf remove (one process, 1 thread)", time_cli(source, scratch / "cli", threads=1))]
        for actors in args.actors:
            elapsed = time_ray(source, scratch / f"ray-{actors}", actors, args.gpus_per_actor, args.batch_size)
            rows.append((f"Ray, {actors} actor(s) x 1 CPU", elapsed))
        ray.shutdown()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"{args.photos} JPEGs of {args.size[0]}x{args.size[1]} -> PNG cut-outs, bundled u2net-lite, torch CPU")
    print(f"machine: {platform.processor() or platform.machine()}, {cpus} cores, Python {platform.python_version()}")
    print()
    print("| run | wall | images/s | vs one process |")
    print("|---|---|---|---|")
    baseline = rows[0][1]
    for name, elapsed in rows:
        print(f"| {name} | {elapsed:.1f} s | {args.photos / elapsed:.2f} | {baseline / elapsed:.2f}x |")


if __name__ == "__main__":
    main()
