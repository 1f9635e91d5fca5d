# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""The same HTTP load against `rembg s` (the real rembg from PyPI, offline on the official u2netp.onnx) and
against `u2net-hf serve`, side by side: throughput and p50/p99 latency of `POST /api/remove` with real photos.

The servers run on 127.0.0.1 with their defaults (`--no-ui`; ours once more with `--int8`), each alone on the
machine while it is measured; every request names `model=u2netp` (rembg's U2-NetP, our u2net-lite). Targets:
throughput >= 1.5x rembg's, p99 <= 0.7x rembg's.

    python benchmarks/bench_serve.py                      # 8 clients x 10 requests each, per server
    python benchmarks/bench_serve.py --clients 8 --requests 25
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT / "tests"), str(REPO_ROOT / "benchmarks")]

from rembg_peer import rembg_peer  # noqa: E402
from serve_process import ServerProcess  # noqa: E402

PHOTOS = [*sorted((REPO_ROOT / "docs" / "gallery").glob("*.jpg")), REPO_ROOT / "docs" / "assets" / "astronaut.jpg"]


def run_load(url: str, clients: int, requests: int, photos: list[bytes]) -> dict:
    """`clients` threads, each sending `requests` photos one after the other; every answer must be a 200 PNG."""
    latencies, failures = [], []

    def client(index: int):
        with httpx.Client(base_url=url, timeout=600) as session:
            for step in range(requests):
                photo = photos[(index + step) % len(photos)]
                started = time.perf_counter()
                answer = session.post("/api/remove", files={"file": ("photo.jpg", photo)}, data={"model": "u2netp"})
                latencies.append(time.perf_counter() - started)
                if answer.status_code != 200 or not answer.content.startswith(b"\x89PNG"):
                    failures.append(f"{answer.status_code} {answer.text[:120]}")

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} failed requests, first: {failures[0]}")
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "throughput": len(latencies) / wall,
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
    }


def load_photos(size: str) -> list[bytes]:
    """The photos as JPEG bytes: the files as they are for "gallery", else resized to `size` (WIDTHxHEIGHT)."""
    if size == "gallery":
        return [path.read_bytes() for path in PHOTOS]
    import io

    import PIL.Image

    width, height = (int(value) for value in size.lower().split("x"))
    photos = []
    for path in PHOTOS:
        buffer = io.BytesIO()
        PIL.Image.open(path).convert("RGB").resize((width, height), PIL.Image.Resampling.LANCZOS).save(
            buffer, "JPEG", quality=90
        )
        photos.append(buffer.getvalue())
    return photos


def measure(name: str, server: ServerProcess, args, photos: list[bytes]) -> dict:
    with server:
        run_load(server.url, args.clients, 1, photos)  # warm-up: sessions made, threads started
        result = run_load(server.url, args.clients, args.requests, photos)
    print(f"{name}: {result['throughput']:.2f} images/s, p50 {result['p50']:.2f} s, p99 {result['p99']:.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=10, help="requests per client (default: 10)")
    parser.add_argument("--rembg-venv", help="a venv with rembg[cpu,cli] (default: made by rembg_peer.py)")
    parser.add_argument(
        "--size",
        default="1920x1080",
        help="WIDTHxHEIGHT the photos are resized to before they are sent (default: 1920x1080, a phone photo's "
        "scale); 'gallery' sends the gallery's own 256-512 px files",
    )
    parser.add_argument("--ours", nargs=argparse.REMAINDER, default=[], help="extra flags for u2net-hf serve")
    args = parser.parse_args()
    photos = load_photos(args.size)
    peer = rembg_peer(args.rembg_venv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rembg = measure(
        f"rembg {peer.version}",
        ServerProcess("--no-ui", command=[str(peer.command), "s"], env=peer.env, health="/api"),
        args,
        photos,
    )
    ours = {
        "u2net-hf (`u2net-hf serve`)": measure("u2net-hf", ServerProcess("--no-ui", *args.ours), args, photos),
        "u2net-hf (`u2net-hf serve --int8`)": measure(
            "u2net-hf --int8", ServerProcess("--no-ui", "--int8", *args.ours), args, photos
        ),
    }
    machine = f"{platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, load average {load:.1f}"
    sizes = "256-512 px" if args.size == "gallery" else args.size
    print(f"\n{args.clients} clients x {args.requests} requests of {len(photos)} photos ({sizes}); {machine}\n")
    print(
        "| server | images/s | p50 (s) | p99 (s) | throughput vs rembg (target >= 1.5x) | p99 vs rembg (target <= 0.7x) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, result in ((f"rembg {peer.version} (`rembg s`)", rembg), *ours.items()):
        ratio, p99 = result["throughput"] / rembg["throughput"], result["p99"] / rembg["p99"]
        print(
            f"| {name} | {result['throughput']:.2f} | {result['p50']:.2f} | {result['p99']:.2f} | {ratio:.2f}x | "
            f"{p99:.2f}x |"
        )


if __name__ == "__main__":
    main()
