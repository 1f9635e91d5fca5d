"""CUDA checks that CI (CPU only) cannot run: device placement, the pipeline on `device=0`, half-precision
inference and an AMP training step with gradient checkpointing. Prints one line per check and exits non-zero
if any fails.

    python benchmarks/check_cuda.py
"""

from __future__ import annotations

import sys
import time

import numpy as np
import PIL.Image
import torch
from transformers import pipeline

import u2net_hf
from u2net_hf import U2NetForImageSegmentation, load_image_processor, load_model

CHECKS: list[tuple[str, object]] = []


def check(name: str):
    def register(function):
        CHECKS.append((name, function))
        return function

    return register


def run_checks() -> int:
    failed = 0
    for name, function in CHECKS:
        start = time.perf_counter()
        try:
            status, detail = "ok  ", function() or ""
        except Exception as error:  # report every check, then fail at the end
            status, detail = "FAIL", f"{type(error).__name__}: {error}"
            failed += 1
        print(f"{status} {name} ({time.perf_counter() - start:.1f}s) {detail}", flush=True)
    print(f"{len(CHECKS) - failed} passed, {failed} failed")
    return failed


def photo() -> PIL.Image.Image:
    from skimage import data

    return PIL.Image.fromarray(data.astronaut())


@check("lite on cuda matches cpu (fp32 probabilities, max abs diff <= 1e-4)")
def _():
    model = load_model("u2net-lite")
    processor = load_image_processor("u2net-lite")
    inputs = processor(photo(), return_tensors="pt")
    with torch.no_grad():
        cpu = torch.sigmoid(model(**inputs).logits)
        gpu_model = (
            U2NetForImageSegmentation.from_pretrained(u2net_hf.resolve_model_path("u2net-lite")).to("cuda").eval()
        )
        gpu = torch.sigmoid(gpu_model(inputs["pixel_values"].to("cuda")).logits).cpu()
    diff = (cpu - gpu).abs().max().item()
    assert diff <= 1e-4, diff
    return f"max abs diff {diff:.2e}"


@check("pipeline(device=0) gives the cpu masks (IoU >= 0.99)")
def _():
    path = u2net_hf.resolve_model_path("u2net-lite")
    image = photo()
    cpu = pipeline("image-segmentation", model=path, device=-1)(image)
    gpu_pipe = pipeline("image-segmentation", model=path, device=0)
    assert gpu_pipe.model.device.type == "cuda"
    gpu = gpu_pipe([image, image.resize((300, 200))], batch_size=2)
    a, b = (np.asarray(cpu[0]["mask"]) > 0), (np.asarray(gpu[0][0]["mask"]) > 0)
    iou = (a & b).sum() / max((a | b).sum(), 1)
    assert iou >= 0.99 and gpu[1][0]["mask"].size == (300, 200), iou
    return f"IoU {iou:.4f}"


@check("bf16 and fp16 weights on cuda: probabilities within 2e-2 of fp32")
def _():
    path = u2net_hf.resolve_model_path("u2net-lite")
    pixel_values = load_image_processor("u2net-lite")(photo(), return_tensors="pt")["pixel_values"].cuda()
    reference = None
    details = []
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        model = U2NetForImageSegmentation.from_pretrained(path, dtype=dtype).cuda().eval()
        with torch.no_grad():
            probabilities = torch.sigmoid(model(pixel_values).logits.float())
        if reference is None:
            reference = probabilities
            continue
        diff = (probabilities - reference).abs().max().item()
        details.append(f"{dtype}: {diff:.2e}")
        assert diff <= 2e-2, details
    return ", ".join(details)


@check("AMP (bf16 autocast) training step with gradient checkpointing: finite loss, every parameter gets a gradient")
def _():
    model = U2NetForImageSegmentation(u2net_hf.U2NetConfig(preset="lite")).cuda().train()
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    enable()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    pixel_values = torch.randn(8, 3, 288, 288, device="cuda")
    labels = (torch.rand(8, 288, 288, device="cuda") > 0.5).float()
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(pixel_values, labels=labels).loss
        loss.backward()
        missing = [n for n, p in model.named_parameters() if p.grad is None]
        assert not missing, missing[:3]
        optimizer.step()
        losses.append(loss.item())
    assert all(np.isfinite(losses)) and losses[-1] < losses[0], losses
    return f"losses {[round(x, 3) for x in losses]}, peak memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB"


@check("remove_background on cuda equals cpu within 1 grey level on 99.9% of pixels")
def _():
    from u2net_hf.background import remove_background

    image = photo()
    cpu = np.asarray(remove_background(image, mask_only=True), dtype=np.int16)
    gpu = np.asarray(remove_background(image, mask_only=True, device="cuda"), dtype=np.int16)
    close = (np.abs(cpu - gpu) <= 1).mean()
    assert close >= 0.999, close
    return f"{close:.5f} of pixels within 1 level"


if __name__ == "__main__":
    if not torch.cuda.is_available():
        sys.exit("no CUDA device")
    print(torch.__version__, torch.cuda.get_device_name(0))
    sys.exit(1 if run_checks() else 0)
