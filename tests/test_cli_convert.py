"""`u2net-hf convert`: a thin command over `u2net_hf.conversion.convert_checkpoint`."""

from __future__ import annotations

import json

import pytest
import torch
from foreign_layouts import random_checkpoint
from rembg_onnx import u2netp_onnx_path
from transformers import AutoImageProcessor, AutoModelForImageSegmentation

from u2net_hf.cli import main
from u2net_hf.conversion.convert_reference_u2net_to_pytorch import convert_state_dict, expected_shapes


@pytest.fixture
def reference_checkpoint(tmp_path):
    tensors = random_checkpoint(expected_shapes("lite"))
    torch.save({"model": tensors}, tmp_path / "model_best.pth")
    return tmp_path / "model_best.pth", tensors


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_convert_writes_a_folder_transformers_loads(tmp_path, reference_checkpoint, capsys):
    src, tensors = reference_checkpoint
    assert main(["convert", str(src), str(tmp_path / "out")]) == 0
    assert "Wrote" in capsys.readouterr().out

    model = AutoModelForImageSegmentation.from_pretrained(tmp_path / "out").eval()
    AutoImageProcessor.from_pretrained(tmp_path / "out")
    expected = convert_state_dict(tensors).to_model()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x).logits, expected(x).logits)
    assert (tmp_path / "out" / "README.md").read_text().startswith("---\n")


def test_convert_official_onnx_marks_batch_norm_frozen(tmp_path):
    assert main(["convert", str(u2netp_onnx_path()), str(tmp_path / "lite")]) == 0
    config = json.loads((tmp_path / "lite" / "config.json").read_text())
    assert config["freeze_batch_norm"] is True
    assert config["encoder_stages"][0] == [7, 3, 16, 64, False, False]


@pytest.mark.parametrize(
    ("extra_args", "message"),
    [
        (["--from", "onnx"], "--from onnx was given but this is a PyTorch checkpoint"),
        (["--from", "upstream"], "does not match any variant"),
        (["--variant", "full"], "does not match the 'full' variant"),
    ],
)
def test_convert_reports_bad_choices_in_one_line(tmp_path, reference_checkpoint, capsys, extra_args, message):
    src, _ = reference_checkpoint
    assert main(["convert", str(src), str(tmp_path / "out"), *extra_args]) == 1
    error = _error_line(capsys)
    assert error.startswith("u2net-hf convert: error: ") and message in error
    assert not (tmp_path / "out").exists()


def test_convert_refuses_a_non_empty_destination_unless_overwrite(tmp_path, reference_checkpoint, capsys):
    src, _ = reference_checkpoint
    assert main(["convert", str(src), str(tmp_path / "out")]) == 0
    weights = (tmp_path / "out" / "model.safetensors").read_bytes()
    assert main(["convert", str(src), str(tmp_path / "out")]) == 1
    assert "pass --overwrite" in _error_line(capsys)
    assert (tmp_path / "out" / "model.safetensors").read_bytes() == weights
    assert main(["convert", str(src), str(tmp_path / "out"), "--overwrite"]) == 0
