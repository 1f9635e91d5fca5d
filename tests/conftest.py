"""Shared fixtures. Every test runs with a private, empty Hugging Face cache and without network access
to the real Hub; tests that need a Hub start the local one in tests/hub_server.py."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Set before transformers / huggingface_hub are imported anywhere: both read these at import time.
_HF_HOME = tempfile.mkdtemp(prefix="u2net-hf-tests-home-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ.pop("HF_TOKEN", None)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from u2net_hf import U2NetConfig, U2NetForImageSegmentation, U2NetImageProcessor  # noqa: E402

# One thread per test process: CI runs two pytest workers on two cores, and torch with 2 threads slows
# down many times over when the other core is busy. Also makes results bit-identical across processes. The
# environment variable carries it to sessions (which apply the thread policy) and to CLI subprocesses.
torch.set_num_threads(1)
os.environ.setdefault("U2NET_HF_NUM_THREADS", "1")

# A network small enough to run in milliseconds that still has every kind of part: RSU-L blocks with
# pooling, a dilated RSU-LF bottleneck, a dilated decoder stage, and one side output per decoder stage.
TINY_STAGES = {
    "encoder_stages": [[3, 3, 4, 8, False, False], [3, 8, 4, 8, False, False], [2, 8, 4, 8, True, True]],
    "decoder_stages": [[2, 16, 4, 8, True, True], [3, 16, 4, 8, False, True]],
}


def save_contrasty_model(folder: Path) -> Path:
    """A tiny random U2-Net with a 64x64 processor, its fusion layer scaled so that probabilities span 0-1."""
    torch.manual_seed(0)
    model = U2NetForImageSegmentation(U2NetConfig(**TINY_STAGES)).eval()
    with torch.no_grad():
        model.fusion.weight.mul_(150)
        model.fusion.bias.sub_(5.5)
    model.save_pretrained(folder)
    U2NetImageProcessor(size={"height": 64, "width": 64}).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def contrasty_model_dir(tmp_path_factory) -> str:
    """[`save_contrasty_model`]'s folder, once per test module (the streams tests run it in processes too)."""
    return str(save_contrasty_model(tmp_path_factory.mktemp("contrasty-u2net")))


@pytest.fixture(scope="module")
def contrasty_session(contrasty_model_dir):
    from u2net_hf import new_session

    return new_session(contrasty_model_dir)


@pytest.fixture
def tiny_config() -> U2NetConfig:
    return U2NetConfig(**TINY_STAGES)


@pytest.fixture
def tiny_model(tiny_config) -> U2NetForImageSegmentation:
    torch.manual_seed(0)
    return U2NetForImageSegmentation(tiny_config).eval()


@pytest.fixture(scope="session")
def real_photos() -> dict[str, np.ndarray]:
    """Real photographs shipped by scikit-image (RGB uint8)."""
    from skimage import data

    return {name: getattr(data, name)() for name in ("astronaut", "chelsea", "coffee")}


@pytest.fixture
def saved_folder(tmp_path, tiny_model):
    """The tiny model and a 64x64 processor saved with `save_pretrained`: a model folder like any other."""
    folder = tmp_path / "tiny-u2net"
    tiny_model.save_pretrained(folder)
    U2NetImageProcessor(size={"height": 64, "width": 64}).save_pretrained(folder)
    return folder
