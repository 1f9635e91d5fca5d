# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
Edges, side by side with rembg: alpha matting (`-a`), mask post-processing (`-ppm`) and colour decontamination
(`-dc`) on generated composites whose true alpha and foreground colours are known.

Each composite is a head and shoulders with a soft border, a few hundred hair-like strands and a semi-transparent
scarf, over one of several backgrounds (gradient, noise, stripes, blobs), made at 1080p and at 12 MP. Every method
runs in a process of its own, so that its time (of the removal call alone: the model is loaded first) and its peak
RSS are its own: ours through `Session.remove` with the bundled u2net-lite (the official U2-NetP weights) on
onnxruntime, rembg's through its `remove()` in the peer's venv (benchmarks/rembg_peer.py) with the official
`u2netp.onnx`. Reported per method: alpha SAD (sum of absolute errors / 1000), MSE (x 1000), gradient error
(Rhemann et al.'s, Gaussian derivatives of sigma 1.4, / 1000), the colour error of the cut-out inside the soft band
(mean absolute error in 0-255 levels, weighted by the smaller of the true and the estimated alpha:
how much it shows in both), time and peak RSS.

    python benchmarks/bench_edges.py                       # 2 composites at 1080p, 1 at 12 MP
    python benchmarks/bench_edges.py --sizes 1080p --count 1
    python benchmarks/bench_edges.py --crops docs/assets/edges   # also writes before/after crops for the docs
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SIZES = {"1080p": (1920, 1080), "12mp": (4000, 3000)}
# Method -> (side, options); options are the library's names, or rembg's remove() arguments.
METHODS = {
    "plain": ("ours", {}),
    "-ppm": ("ours", {"post_process_mask": True}),
    "-dc": ("ours", {"foreground_colors": "estimate"}),
    "-a": ("ours", {"alpha_matting": True}),
    # A wider trimap (-af 254 -ab 1): matting decides every pixel the model is not all but certain of.
    "-a wide": (
        "ours",
        {
            "alpha_matting": True,
            "alpha_matting_foreground_threshold": 254,
            "alpha_matting_background_threshold": 1,
        },
    ),
    "rembg plain": ("rembg", {}),
    "rembg -ppm": ("rembg", {"post_process_mask": True}),
    "rembg -dc": ("rembg", {"decontaminate": True}),
    "rembg -a": ("rembg", {"alpha_matting": True}),
    "rembg -a wide": (
        "rembg",
        {
            "alpha_matting": True,
            "alpha_matting_foreground_threshold": 254,
            "alpha_matting_background_threshold": 1,
        },
    ),
}
# rembg's solve of the wide trimap at 12 MP takes many minutes: asked for by name only.
DEFAULT_METHODS = [method for method in METHODS if method != "rembg -a wide"]
BACKGROUNDS = ("gradient", "noise", "stripes", "blobs")


# --------------------------------------------------------------------------------------------------------------
# The composites


def make_composite(width: int, height: int, seed: int = 0):
    """
    A generated photo with its true alpha and foreground colours.

    Returns:
        `tuple`: the photo (uint8, `(height, width, 3)`), the alpha (float32 in [0, 1]) and the foreground colours
        (float32 in 0-255) it was composited from.
    """
    import numpy as np
    import PIL.Image
    import PIL.ImageDraw

    rng = np.random.default_rng(seed)
    scale = height / 1080
    rows, cols = np.mgrid[:height, :width].astype(np.float32)

    def ellipse(cx, cy, rx, ry, softness):
        radius = np.sqrt(((cols - cx) / rx) ** 2 + ((rows - cy) / ry) ** 2)
        return np.clip((1 - radius) * min(rx, ry) / softness + 0.5, 0, 1)

    head = ellipse(0.5 * width, 0.45 * height, 0.13 * width, 0.22 * height, 5 * scale)
    shoulders = ellipse(0.5 * width, 1.08 * height, 0.36 * width, 0.4 * height, 8 * scale)
    body = np.maximum(head, shoulders)
    scarf = ellipse(0.5 * width, 0.72 * height, 0.3 * width, 0.07 * height, 12 * scale) * 0.5

    # Hair: strands from the top of the head, drawn 2x larger and shrunk, so that they are anti-aliased.
    canvas = PIL.Image.new("L", (2 * width, 2 * height), 0)
    draw = PIL.ImageDraw.Draw(canvas)
    for _ in range(500):
        angle = rng.uniform(-2.6, -0.5)
        x = 0.5 * width + 0.12 * width * np.cos(angle)
        y = 0.45 * height + 0.2 * height * np.sin(angle)
        direction = angle + rng.normal(0, 0.3)
        points = []
        for _ in range(int(rng.integers(8, 20))):
            points.append((2 * x, 2 * y))
            step = rng.uniform(6, 14) * scale
            x, y = x + step * np.cos(direction), y + step * np.sin(direction)
            direction += rng.normal(0, 0.15)
        draw.line(points, fill=int(rng.integers(90, 230)), width=max(1, round(rng.uniform(1.5, 4) * scale)))
    hair = np.asarray(canvas.resize((width, height), PIL.Image.Resampling.BOX), dtype=np.float32) / 255
    hair = np.maximum(hair, head * (rows < 0.45 * height))  # the hair on the head itself, opaque

    texture = np.sin(cols / (23 * scale) + rng.uniform(0, 6)) * np.cos(rows / (31 * scale))
    skin = np.stack([220 + 20 * texture, 150 + 25 * texture, 110 + 10 * texture], -1)
    hair_colour = np.array(rng.choice([[90, 60, 30], [200, 170, 90], [40, 30, 25]]), dtype=np.float32)
    hair_colours = hair_colour + 25 * np.sin(cols / (5 * scale))[..., None]
    scarf_colour = np.array([60, 200, 190], dtype=np.float32) + 20 * texture[..., None]

    # Layers, bottom to top: scarf, body, hair ("over", premultiplied).
    premultiplied = scarf[..., None] * scarf_colour
    alpha = scarf
    for layer, colour in ((body, skin), (hair, hair_colours)):
        premultiplied = layer[..., None] * colour + (1 - layer[..., None]) * premultiplied
        alpha = layer + (1 - layer) * alpha
    foreground = np.divide(
        premultiplied, alpha[..., None], out=np.zeros_like(premultiplied), where=alpha[..., None] > 0
    )
    background = _background(BACKGROUNDS[seed % len(BACKGROUNDS)], rows, cols, scale, rng)
    photo = alpha[..., None] * foreground + (1 - alpha[..., None]) * background
    return np.clip(np.rint(photo), 0, 255).astype(np.uint8), alpha.astype(np.float32), foreground.astype(np.float32)


def _background(kind: str, rows, cols, scale: float, rng):
    import numpy as np

    height, width = rows.shape
    if kind == "gradient":
        return np.stack([40 + 160 * cols / width, 90 + 0 * rows, 200 - 150 * rows / height], -1)
    if kind == "noise":
        small = rng.uniform(0, 255, (max(2, height // 24), max(2, width // 24), 3)).astype(np.float32)
        import PIL.Image

        channels = [
            np.asarray(
                PIL.Image.fromarray(small[..., c], mode="F").resize((width, height), PIL.Image.Resampling.BICUBIC)
            )
            for c in range(3)
        ]
        return np.clip(np.stack(channels, -1) + rng.normal(0, 6, (height, width, 3)), 0, 255)
    if kind == "stripes":
        stripes = (np.sin((cols + 0.6 * rows) / (9 * scale)) > 0).astype(np.float32)
        return np.stack([30 + 200 * stripes, 120 + 0 * rows, 220 - 180 * stripes], -1)
    blobs = np.zeros((height, width, 3), np.float32) + np.array([30, 90, 60], np.float32)
    for _ in range(40):
        cy, cx, radius = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(30, 200) * scale
        inside = ((rows - cy) ** 2 + (cols - cx) ** 2) < radius**2
        blobs[inside] = rng.uniform(0, 255, 3)
    return blobs


# --------------------------------------------------------------------------------------------------------------
# The metrics


def metrics(rgba, alpha, foreground) -> dict[str, float]:
    import numpy as np
    from scipy.ndimage import gaussian_filter

    estimate = rgba[..., 3].astype(np.float64) / 255
    truth = alpha.astype(np.float64)
    error = estimate - truth

    def gradient(values):
        return np.hypot(gaussian_filter(values, 1.4, order=(0, 1)), gaussian_filter(values, 1.4, order=(1, 0)))

    band = (truth > 0) & (truth < 1)
    # Weighted by how much the colour shows in both the truth and the cut-out: an invisible colour is no error
    # (the alpha's errors are the SAD's).
    weights = np.minimum(truth, estimate)[band]
    colour = np.abs(rgba[..., :3][band].astype(np.float64) - foreground[band]).mean(-1)
    return {
        "sad": float(np.abs(error).sum() / 1000),
        "mse": float((error**2).mean() * 1000),
        "grad": float(((gradient(estimate) - gradient(truth)) ** 2).sum() / 1000),
        "colour": float((colour * weights).sum() / weights.sum()),
        "band_pixels": int(band.sum()),
    }


# --------------------------------------------------------------------------------------------------------------
# One method in a process of its own


def worker(side: str, source: str, output: str, options: dict) -> dict:
    """Load the model, then time one removal; the peak RSS is the whole process's."""
    import PIL.Image

    photo = PIL.Image.open(source).convert("RGB")
    photo.load()
    if side == "ours":
        sys.path.insert(0, str(REPO_ROOT))
        from u2net_hf import new_session

        session = new_session("u2net-lite", backend="onnxruntime")
        start = time.perf_counter()
        result = session.remove(photo, **options)
    else:
        from rembg import new_session, remove

        session = new_session("u2netp")
        start = time.perf_counter()
        result = remove(photo, session=session, **options)
    seconds = time.perf_counter() - start
    result.convert("RGBA").save(output)
    return {"seconds": seconds, "peak_rss_gib": peak_rss_bytes() / 2**30}


def peak_rss_bytes() -> int:
    """This process's peak resident memory: VmHWM, which starts afresh at exec (getrusage's ru_maxrss does not:
    it would report the benchmark's own peak, the composites it holds, for every worker it starts)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status (the benchmark measures memory on Linux)")


def run_method(method: str, source: Path, output: Path, peer) -> dict:
    side, options = METHODS[method]
    python = sys.executable if side == "ours" else str(peer.python)
    env = os.environ if side == "ours" else peer.env
    command = [python, __file__, "--worker", side, str(source), str(output), json.dumps(options)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{method} failed on {source.name}: {result.stderr.strip()[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def method_name(text: str) -> str:
    """A method of `METHODS`, its flag's dash optional: argparse takes a lone `-a` for an option of its own."""
    for name in METHODS:
        if text in (name, name.replace("-", "")):
            return name
    raise argparse.ArgumentTypeError(f"unknown method {text!r}; choose from {', '.join(METHODS)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--worker", nargs=4, metavar=("SIDE", "IN", "OUT", "OPTIONS"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="+", default=["1080p", "12mp"], choices=list(SIZES))
    parser.add_argument("--count", type=int, default=2, help="composites at 1080p (12 MP gets one)")
    parser.add_argument(
        "--methods",
        nargs="+",
        type=method_name,
        default=DEFAULT_METHODS,
        metavar="METHOD",
        help=f"of {', '.join(METHODS)}; the flags may be written without their dash (a, 'a wide', 'rembg a')",
    )
    parser.add_argument("--crops", type=Path, help="write before/after crops of hair and soft edges here")
    parser.add_argument("--json", type=Path, help="write the raw results here")
    args = parser.parse_args(argv)
    if args.worker:
        side, source, output, options = args.worker
        print(json.dumps(worker(side, source, output, json.loads(options))))
        return 0

    import numpy as np
    import PIL.Image

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from rembg_peer import rembg_peer

    peer = rembg_peer() if any(METHODS[m][0] == "rembg" for m in args.methods) else None
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-edges-") as scratch:
        scratch = Path(scratch)
        for size in args.sizes:
            width, height = SIZES[size]
            for seed in range(args.count if size == "1080p" else 1):
                photo, alpha, foreground = make_composite(width, height, seed)
                source = scratch / f"{size}-{seed}.png"
                PIL.Image.fromarray(photo).save(source, compress_level=1)
                outputs = {}
                for method in args.methods:
                    output = scratch / f"{size}-{seed}-{method.replace(' ', '_')}.png"
                    measured = run_method(method, source, output, peer)
                    rgba = np.asarray(PIL.Image.open(output).convert("RGBA"))
                    row = {"size": size, "composite": seed, "method": method, **measured}
                    row.update(metrics(rgba, alpha, foreground))
                    rows.append(row)
                    outputs[method] = rgba
                    print(json.dumps(row), file=sys.stderr, flush=True)
                if args.crops and size == "1080p" and seed == 0:
                    write_crops(args.crops, photo, alpha, outputs)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print_table(rows, peer)
    return 0


def print_table(rows: list[dict], peer) -> None:
    import numpy as np

    print(f"rembg {peer.version if peer else '-'}; ours: u2net-lite on onnxruntime; means over the composites")
    print()
    print("| size | method | alpha SAD | MSE x1e3 | gradient | colour error (soft band) | time (s) | peak RSS (GiB) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for size in dict.fromkeys(row["size"] for row in rows):
        for method in dict.fromkeys(row["method"] for row in rows):
            chosen = [row for row in rows if row["size"] == size and row["method"] == method]
            if not chosen:
                continue

            def mean(key, chosen=chosen):
                return float(np.mean([row[key] for row in chosen]))

            print(
                f"| {size} | {method} | {mean('sad'):.1f} | {mean('mse'):.2f} | {mean('grad'):.1f} | "
                f"{mean('colour'):.1f} | {mean('seconds'):.2f} | {mean('peak_rss_gib'):.2f} |"
            )


def write_crops(folder: Path, photo, alpha, outputs: dict) -> None:
    """Before/after crops for docs/edges.md: the hair above the head and the soft border of a shoulder, of the
    photo and of each cut-out over a checkerboard, 2x enlarged."""
    import numpy as np
    import PIL.Image

    folder.mkdir(parents=True, exist_ok=True)
    height, width = alpha.shape
    regions = {
        "hair": (int(0.36 * width), int(0.12 * height), 160, 120),
        "shoulder": (int(0.14 * width), int(0.62 * height), 160, 120),
    }
    rows, cols = np.mgrid[:120, :160]
    checker = np.where(((rows // 10 + cols // 10) % 2)[..., None] == 0, 235, 190).astype(np.float32)
    for region, (left, top, w, h) in regions.items():
        crops = {"photo": photo[top : top + h, left : left + w]}
        for method, rgba in outputs.items():
            piece = rgba[top : top + h, left : left + w].astype(np.float32)
            shown = piece[..., 3:] / 255
            crops[method] = np.rint(piece[..., :3] * shown + checker * (1 - shown)).astype(np.uint8)
        for name, crop in crops.items():
            image = PIL.Image.fromarray(crop).resize((2 * w, 2 * h), PIL.Image.Resampling.NEAREST)
            image.save(folder / f"{region}-{name.replace(' ', '-').replace('--', '-').strip('-')}.png", optimize=True)


if __name__ == "__main__":
    raise SystemExit(main())
