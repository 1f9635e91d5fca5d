# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Where and how inference runs: the device a model goes to and the thread counts of PyTorch and onnxruntime.

The one place these choices are made; a session ([`~u2net_hf.new_session`]) makes them once, when it is
created. torch is imported only when a torch device is asked for, so that onnxruntime runs need not load it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
from collections.abc import Iterator
from dataclasses import dataclass

NUM_THREADS_ENV = "U2NET_HF_NUM_THREADS"


@dataclass(frozen=True)
class DeviceName:
    """A device as PyTorch names it (`"cpu"`, `"cuda"`, `"cuda:1"`, `"mps"`), read without importing torch."""

    type: str
    index: int | None = None


DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta")


def parse_device(device) -> DeviceName:
    """
    Read a device name (or a `torch.device`) without importing torch.

    Raises:
        `ValueError`: one line for a name that is not a device.
    """
    if hasattr(device, "type") and hasattr(device, "index"):  # a torch.device
        return DeviceName(device.type, device.index)
    text = str(device).strip().lower()
    kind, _, index = text.partition(":")
    if kind not in DEVICE_TYPES or (text.endswith(":") or (index and not index.isdigit())):
        raise ValueError(f"Unknown device {str(device)!r}: use 'cpu', 'cuda', 'cuda:1' or 'mps'.")
    return DeviceName(kind, int(index) if index else None)


def resolve_device(device=None, model=None):
    """
    The PyTorch device to run on: `device` when given (checked to exist on this machine); else where a loaded
    `model` already is (`None`: leave it there); else the first CUDA GPU if there is one, else the CPU.

    Args:
        device (`str` or `torch.device`, *optional*):
            `"cpu"`, `"cuda"`, `"cuda:1"`, `"mps"`...
        model (`torch.nn.Module`, *optional*):
            A loaded model: with no `device`, it stays where it is.

    Returns:
        `torch.device` or `None`.

    Raises:
        `ValueError`: one line for a device that is unknown or not available here.
    """
    import torch

    if device is None:
        if isinstance(model, torch.nn.Module):
            return None
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"Unknown device {str(device)!r}: use 'cpu', 'cuda', 'cuda:1', 'mps'...") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"Device {str(device)!r} asked for, but CUDA is not available here (no GPU, or PyTorch built without "
            "CUDA support); use 'cpu'."
        )
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(
            f"Device {str(device)!r} does not exist: this machine has {torch.cuda.device_count()} GPU(s)."
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"Device {str(device)!r} asked for, but Apple's MPS is not available here; use 'cpu'.")
    return device


def default_backend(device=None) -> str:
    """
    The fastest correct backend for a device: `"torch"` on a GPU (CUDA or MPS; by default, when this machine has
    one that PyTorch can use), `"onnxruntime"` on CPUs, where it runs U2-Net faster than PyTorch, and torch where
    onnxruntime is not installed.

    Deciding imports torch only on machines that show a GPU (an NVIDIA device node, an Apple-silicon Mac), so
    that CPU machines never load it.

    Args:
        device (`str` or `torch.device`, *optional*):
            The device asked for; `None` for "the best one here".

    Example:

    ```python
    >>> from u2net_hf.devices import default_backend

    >>> default_backend("cpu"), default_backend("cuda")
    ('onnxruntime', 'torch')
    ```
    """
    import importlib.util

    has_onnxruntime = importlib.util.find_spec("onnxruntime") is not None
    if device is not None:
        return "onnxruntime" if parse_device(device).type == "cpu" and has_onnxruntime else "torch"
    if not has_onnxruntime or _torch_has_a_gpu():
        return "torch"
    return "onnxruntime"


def _torch_has_a_gpu() -> bool:
    might_have_one = os.path.exists("/dev/nvidiactl") or (
        platform.system() == "Darwin" and platform.machine() == "arm64"
    )
    if not might_have_one:
        return False
    import torch

    return torch.cuda.is_available() or torch.backends.mps.is_available()


def default_num_threads(backend: str = "onnxruntime") -> int:
    """
    How many threads CPU inference should use: the value of the environment variable `U2NET_HF_NUM_THREADS`
    when set; else, for onnxruntime, every core this process may use; for PyTorch, the cores that are not
    already busy (cores minus the whole part of the 1-minute load average, at least 1).

    Why the two differ, measured on a 2-core machine (lite model, 320x320, batch 1): on the idle machine 2
    threads beat 1 for both (PyTorch 0.36 s against 0.57 s, onnxruntime 0.26 s against 0.46 s). Under a load
    average of 5 from other processes, PyTorch's thread pool, which waits for every thread at every layer, took
    5.5 s with 2 threads against 1.2 s with 1; onnxruntime, whose threads do not spin while waiting (see
    [`~u2net_hf.onnx.OnnxU2Net`]), lost only 8% (0.74 s against 0.68 s). The load average is read at the time
    of the call and includes this process's own recent work: call this when creating a session or at start-up,
    not in a loop. Sessions ([`~u2net_hf.new_session`]) apply it for you.

    Args:
        backend (`str`, *optional*, defaults to `"onnxruntime"`):
            `"onnxruntime"` or `"torch"`.

    Returns:
        `int`: a thread count of at least 1.

    Raises:
        `ValueError`: when `U2NET_HF_NUM_THREADS` is set to something other than a positive integer, or for an
        unknown `backend`.
    """
    if backend not in ("onnxruntime", "torch"):
        raise ValueError(f"backend must be 'onnxruntime' or 'torch', got {backend!r}.")
    value = os.environ.get(NUM_THREADS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{NUM_THREADS_ENV} must be a positive integer (a thread count), got {value!r}.")
        return int(value)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if backend == "onnxruntime":
        return cores
    try:
        busy = int(os.getloadavg()[0])
    except (AttributeError, OSError):  # no load average (Windows)
        return cores
    return max(1, cores - busy)


@functools.cache
def cpu_has_int8_dot_product() -> bool:
    """
    Whether this CPU multiplies uint8 by int8 without saturating: x86 processors with VNNI (AVX512-VNNI or
    AVX-VNNI), and 64-bit ARM. Without VNNI, onnxruntime's uint8 x int8 kernels add pairs of products in 16 bits
    (`vpmaddubsw`), which saturate: on a 2-core AVX2 EPYC the int8 lite model's mask IoU against float32 fell to
    0.968 on astronaut (0.9966 with uint8 weights). Unknown x86 processors (no `/proc/cpuinfo`) count as without.
    """
    machine = platform.machine().lower()
    if machine in ("arm64", "aarch64"):
        return True
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as file:
            flags = next((line.split(":", 1)[1].split() for line in file if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with PyTorch's intra-op thread pool at `count` threads, then put the old count back."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


__all__ = [
    "DEVICE_TYPES",
    "NUM_THREADS_ENV",
    "DeviceName",
    "cpu_has_int8_dot_product",
    "default_backend",
    "default_num_threads",
    "parse_device",
    "resolve_device",
    "torch_threads",
]
