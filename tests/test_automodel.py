"""`AutoModel` gives the segmentation model, quietly, from every kind of U2-Net checkpoint: the bundled folder,
converted folders, `save_pretrained` folders, a repo id on the (local) Hub and remote code. Runs on transformers 4.x
and 5.x (.ci/run lists it with the core tests)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings

import numpy as np
import pytest
import torch
from foreign_layouts import random_checkpoint
from hub_server import LocalHub, run_with_hub_env
from transformers import AutoModel, AutoModelForImageSegmentation, AutoModelForSemanticSegmentation

import u2net_hf
from u2net_hf import U2NetConfig, U2NetForImageSegmentation, U2NetModel, convert_checkpoint
from u2net_hf.conversion import convert_reference_u2net_to_pytorch, convert_upstream_u2net_to_pytorch
from u2net_hf.registration import AUTO_MAP

# ------------------------------------------------------------------------------------------------ helpers


class _Recorder(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def complaints():
    """
    Everything a load says at warning level or above: records of the "transformers" and "huggingface_hub" loggers
    (they do not propagate to the root logger, so pytest's caplog never sees them), Python warnings (including the
    FutureWarnings pyproject.toml filters out), and `print`s to stderr (v5's LOAD REPORT goes through the logger,
    tqdm bars go to stderr). Yields a list, filled in on exit, of one line per complaint.
    """
    found: list[str] = []
    recorder = _Recorder()
    loggers = [logging.getLogger(name) for name in ("transformers", "huggingface_hub")]
    for logger in loggers:
        logger.addHandler(recorder)
    stderr = io.StringIO()
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(stderr):
            warnings.simplefilter("always")
            yield found
    finally:
        for logger in loggers:
            logger.removeHandler(recorder)
    found += [f"log {r.name} {r.levelname}: {r.getMessage()}" for r in recorder.records]
    found += [f"warning {w.category.__name__}: {w.message}" for w in caught]
    found += [f"stderr: {line}" for line in stderr.getvalue().splitlines() if line.strip()]


def logits_of(model, pixel_values):
    with torch.no_grad():
        return model(pixel_values).logits


def load_quietly(auto_class, folder, **kwargs):
    """`auto_class.from_pretrained(folder)`, asserting that it logged, warned and printed nothing and that the
    checkpoint matched the model exactly."""
    with complaints() as said:
        model, info = auto_class.from_pretrained(folder, output_loading_info=True, **kwargs)
    assert said == [], said
    assert {key: list(value) for key, value in info.items()} == {
        "missing_keys": [],
        "unexpected_keys": [],
        "mismatched_keys": [],
        "error_msgs": [],
    }
    return model


def converted_folder(tmp_path, layout: str):
    converter = {"upstream": convert_upstream_u2net_to_pytorch, "reference": convert_reference_u2net_to_pytorch}
    source = tmp_path / f"{layout}.pth"
    torch.save(random_checkpoint(converter[layout].expected_shapes("lite")), source)
    return convert_checkpoint(source, tmp_path / f"converted-{layout}")


@pytest.fixture(params=["bundled", "converted-upstream", "converted-reference", "save_pretrained"])
def checkpoint(request, tmp_path, saved_folder):
    if request.param == "bundled":
        return u2net_hf.resolve_model_path("u2net-lite")
    if request.param == "save_pretrained":
        return saved_folder
    return converted_folder(tmp_path, request.param.removeprefix("converted-"))


# ------------------------------------------------------------------------------------------- local folders


def test_auto_model_gives_the_segmentation_model_quietly(checkpoint):
    model = load_quietly(AutoModel, checkpoint)
    assert type(model) is U2NetForImageSegmentation and not model.training
    pixel_values = torch.randn(2, 3, 48, 40, generator=torch.Generator().manual_seed(0))
    expected = logits_of(load_quietly(AutoModelForImageSegmentation, checkpoint), pixel_values)
    assert torch.equal(logits_of(model, pixel_values), expected)
    assert torch.equal(logits_of(load_quietly(AutoModelForSemanticSegmentation, checkpoint), pixel_values), expected)
    assert expected.shape == (2, 1, 48, 40)


def test_bare_model_loads_a_full_checkpoint_quietly(checkpoint):
    # The features only: the side outputs and the fusion in the checkpoint are not reported as unexpected.
    backbone = load_quietly(U2NetModel, checkpoint)
    assert type(backbone) is U2NetModel
    model = U2NetForImageSegmentation.from_pretrained(checkpoint)
    pixel_values = torch.randn(1, 3, 40, 40, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        features = backbone(pixel_values).hidden_states
        outputs = model(pixel_values, output_hidden_states=True)
    assert len(features) == len(outputs.hidden_states) == len(model.config.side_output_stages())
    assert all(torch.equal(a, b) for a, b in zip(outputs.hidden_states, features))


def test_auto_model_from_config_gives_the_segmentation_model():
    assert type(AutoModel.from_config(U2NetConfig(preset="lite"))) is U2NetForImageSegmentation


def test_remote_code_auto_map_gives_the_segmentation_model_to_every_model_auto_class():
    assert {name: target for name, target in AUTO_MAP.items() if name.startswith("AutoModel")} == {
        "AutoModel": "modeling_u2net.U2NetForImageSegmentation",
        "AutoModelForImageSegmentation": "modeling_u2net.U2NetForImageSegmentation",
        "AutoModelForSemanticSegmentation": "modeling_u2net.U2NetForImageSegmentation",
    }


# ---------------------------------------------------------------------------------------- by repo id (Hub)

HUB_SCRIPT = """
import contextlib, json, logging, os, sys, tempfile, warnings
import numpy as np, torch
torch.set_num_threads(1)
from huggingface_hub import HfApi
import u2net_hf
from transformers import AutoModel, AutoModelForImageSegmentation

params = json.load(open(sys.argv[1]))
HfApi().create_repo(params["repo"])
HfApi().upload_folder(folder_path=params["folder"], repo_id=params["repo"])

class Recorder(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.lines = []
    def emit(self, record):
        self.lines.append(f"log {record.name} {record.levelname}: {record.getMessage()}")

recorder = Recorder()
for name in ("transformers", "huggingface_hub"):
    logging.getLogger(name).addHandler(recorder)
# File descriptor 2 itself, so that nothing written to stderr (tqdm, prints, C code) escapes.
captured = tempfile.TemporaryFile(mode="w+")
saved_fd = os.dup(2)
sys.stderr.flush()
os.dup2(captured.fileno(), 2)
try:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, info = AutoModel.from_pretrained(params["repo"], output_loading_info=True)
        segmentation = AutoModelForImageSegmentation.from_pretrained(params["repo"])
finally:
    sys.stderr.flush()
    os.dup2(saved_fd, 2)
captured.seek(0)
pixel_values = torch.from_numpy(np.load(params["pixel_values"]))
with torch.no_grad():
    logits = model(pixel_values).logits.numpy()
    expected = segmentation(pixel_values).logits.numpy()
json.dump({
    "class": type(model).__name__,
    "loading_info": {key: sorted(value) for key, value in info.items()},
    "same_as_auto_model_for_image_segmentation": bool(np.array_equal(logits, expected)),
    # Within float rounding, not bit for bit: another process may pick other kernels (thread counts, oneDNN
    # algorithms); a wrong or missing tensor moves the logits by far more.
    "same_as_local": bool(np.allclose(logits, np.load(params["expected"]), rtol=1e-5, atol=1e-5)),
    "complaints": recorder.lines + [f"warning {w.category.__name__}: {w.message}" for w in caught]
        + [f"stderr: {line}" for line in captured.read().splitlines() if line.strip()],
}, open(params["results"], "w"))
"""


@pytest.mark.slow
def test_auto_model_by_repo_id_from_the_hub_gives_the_segmentation_model_quietly(tmp_path, saved_folder, tiny_model):
    pixel_values = torch.randn(2, 3, 48, 40, generator=torch.Generator().manual_seed(2))
    np.save(tmp_path / "pixel_values.npy", pixel_values.numpy())
    np.save(tmp_path / "expected.npy", logits_of(tiny_model, pixel_values).numpy())
    params = {
        "repo": "org/u2net-lite",
        "folder": str(saved_folder),
        "pixel_values": str(tmp_path / "pixel_values.npy"),
        "expected": str(tmp_path / "expected.npy"),
        "results": str(tmp_path / "results.json"),
    }
    (tmp_path / "params.json").write_text(json.dumps(params))
    with LocalHub(tmp_path / "hub", tokens={"hf_write": ("alice", ["org"], "write")}) as hub:
        process = run_with_hub_env(
            f"import sys; sys.argv[1:] = [{str(tmp_path / 'params.json')!r}]\n" + HUB_SCRIPT,
            hub.endpoint,
            hf_home=tmp_path / "hf_home",
            token="hf_write",
            timeout=300,
        )
    assert process.returncode == 0, process.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results == {
        "class": "U2NetForImageSegmentation",
        "loading_info": {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": [], "error_msgs": []},
        "same_as_auto_model_for_image_segmentation": True,
        "same_as_local": True,
        "complaints": [],
    }
