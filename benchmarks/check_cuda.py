"""CUDA checks that CI (CPU only) cannot run: device placement, the pipeline on `device=0`, half-precision
inference and an AMP training step with gradient checkpointing. Prints one line per check and exits non-zero
if any fails.

    python benchmarks/check_cuda.py
"""

from __future__ import annotations

import contextlib
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


def lite_on_cuda(dtype=torch.float32) -> U2NetForImageSegmentation:
    path = u2net_hf.resolve_model_path("u2net-lite")
    return U2NetForImageSegmentation.from_pretrained(path, dtype=dtype).cuda().eval()


def cpu_probabilities(pixel_values: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.sigmoid(load_model("u2net-lite")(pixel_values).logits)


def cuda_probabilities(model, pixel_values: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.sigmoid(model(pixel_values.to("cuda", model.dtype)).logits.float()).cpu()


def compare(probabilities: torch.Tensor, reference: torch.Tensor) -> dict:
    a, b = probabilities > 0.5, reference > 0.5
    return {
        "max": (probabilities - reference).abs().max().item(),
        "mean": (probabilities - reference).abs().mean().item(),
        "iou": ((a & b).sum() / (a | b).sum().clamp(min=1)).item(),
    }


def describe(stats: dict) -> str:
    return f"max abs diff {stats['max']:.2e}, mean {stats['mean']:.2e}, mask IoU {stats['iou']:.4f}"


@contextlib.contextmanager
def tf32(enabled: bool):
    previous = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = previous


def photo_pixel_values() -> torch.Tensor:
    return load_image_processor("u2net-lite")(photo(), return_tensors="pt")["pixel_values"]


def against_true_fp32(dtype: torch.dtype) -> dict:
    """How far the model with `dtype` weights lands from the fp32 one, both on CUDA with TF32 off."""
    pixel_values = photo_pixel_values()
    with tf32(False):
        reference = cuda_probabilities(lite_on_cuda(), pixel_values)
        return compare(cuda_probabilities(lite_on_cuda(dtype), pixel_values), reference)


@check("lite on cuda, true fp32 (TF32 off), matches cpu: probabilities within 1e-4")
def _():
    pixel_values = photo_pixel_values()
    with tf32(False):
        stats = compare(cuda_probabilities(lite_on_cuda(), pixel_values), cpu_probabilities(pixel_values))
    assert stats["max"] <= 1e-4, describe(stats)
    return describe(stats)


@check("lite on cuda, PyTorch's default (TF32 convolutions on Ampere and later): the cpu mask, IoU >= 0.99")
def _():
    pixel_values = photo_pixel_values()
    with tf32(True):
        stats = compare(cuda_probabilities(lite_on_cuda(), pixel_values), cpu_probabilities(pixel_values))
    assert stats["iou"] >= 0.99 and stats["mean"] <= 1e-3, describe(stats)
    return describe(stats)


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


@check("fp16 weights on cuda: the fp32 mask (IoU >= 0.99, mean abs diff <= 2e-3; single pixels move up to ~0.1)")
def _():
    stats = against_true_fp32(torch.float16)
    assert stats["iou"] >= 0.99 and stats["mean"] <= 2e-3, describe(stats)
    return describe(stats)


@check("bf16 weights on cuda: the fp32 mask (IoU >= 0.98, mean abs diff <= 1e-2; bf16 keeps 8 bits of mantissa)")
def _():
    stats = against_true_fp32(torch.bfloat16)
    assert stats["iou"] >= 0.98 and stats["mean"] <= 1e-2, describe(stats)
    return describe(stats)


@check("remove_background(backend='onnxruntime', device='cuda') gives the torch masks (when onnxruntime has CUDA)")
def _():
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError as error:
        return f"not run: {error}"
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        return f"not run: onnxruntime {onnxruntime.__version__} has no CUDA provider here"
    from u2net_hf import new_session

    image = photo()
    on_onnxruntime = new_session(backend="onnxruntime", device="cuda")
    assert on_onnxruntime.model.providers[0] == "CUDAExecutionProvider", on_onnxruntime.model.providers
    on_torch = np.asarray(new_session(device="cuda").remove(image, mask_only=True), dtype=np.int16)
    on_onnx = np.asarray(on_onnxruntime.remove(image, mask_only=True), dtype=np.int16)
    close = (np.abs(on_torch - on_onnx) <= 2).mean()
    assert close >= 0.999, close
    return f"{close:.5f} of pixels within 2 levels"


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
    from u2net_hf import remove_background

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
