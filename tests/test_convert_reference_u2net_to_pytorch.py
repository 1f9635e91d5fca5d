"""The reference-implementation `.pth` converter (encode_modules / decode_modules / side_modules / out_conv)."""

from __future__ import annotations

import argparse

import pytest
import torch
from foreign_layouts import REFERENCE, RecordingDict, random_checkpoint, run_foreign_u2net

from u2net_hf import U2NetImageProcessor
from u2net_hf.conversion import ConversionError, convert_checkpoint
from u2net_hf.conversion.convert_reference_u2net_to_pytorch import convert_state_dict, expected_shapes
from u2net_hf.modeling_u2net import U2NetForImageSegmentation


def _outputs(model: U2NetForImageSegmentation, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        out = model(x)
    return torch.cat([out.logits, out.side_logits], 1)


@pytest.mark.parametrize("preset", ["lite", "full"])
def test_converted_model_reproduces_the_reference_network(preset):
    reference = random_checkpoint(expected_shapes(preset), seed=3)
    x = torch.randn(2, 3, 37, 50)

    recorded = RecordingDict(reference)
    with torch.no_grad():
        expected = torch.cat(run_foreign_u2net(recorded, REFERENCE, preset, x), 1)
    assert recorded.read == {name for name in reference if not name.endswith("num_batches_tracked")}

    converted = convert_state_dict(reference)
    assert converted.preset == preset
    actual = _outputs(converted.to_model(), x)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5 * expected.abs().max().item())


def test_side_modules_run_from_the_bottleneck_to_the_top():
    # side_modules[0] sits on the bottleneck (64 channels in lite, 512 in full) and side_modules[5] on De1.
    full = expected_shapes("full")
    assert full["side_modules.0.weight"] == (1, 512, 3, 3)
    assert full["side_modules.5.weight"] == (1, 64, 3, 3)
    reference = random_checkpoint(expected_shapes("lite"))
    converted = convert_state_dict(reference).state_dict
    assert torch.equal(converted["side_convs.0.weight"], reference["side_modules.5.weight"])
    assert torch.equal(converted["side_convs.5.bias"], reference["side_modules.0.bias"])


def test_training_checkpoint_holding_the_state_dict_under_model_converts(tmp_path):
    reference = random_checkpoint(expected_shapes("lite"))
    optimizer_state = {"state": {}, "param_groups": [{"lr": 0.001, "params": [0, 1]}]}
    torch.save({"model": reference, "optimizer": optimizer_state, "epoch": 12}, tmp_path / "model_12.pth")
    folder = convert_checkpoint(tmp_path / "model_12.pth", tmp_path / "out")

    model = U2NetForImageSegmentation.from_pretrained(folder).eval()
    x = torch.randn(1, 3, 40, 40)
    torch.testing.assert_close(_outputs(model, x), _outputs(convert_state_dict(reference).to_model(), x))
    assert "model_12.pth" in (folder / "README.md").read_text()
    assert not U2NetImageProcessor.from_pretrained(folder).rescale_by_max  # trained with the usual 1/255


def test_training_checkpoint_that_needs_code_execution_is_refused(tmp_path):
    # The reference training script also saves its argparse.Namespace: unpickling it runs code.
    reference = random_checkpoint(expected_shapes("lite"))
    torch.save({"model": reference, "args": argparse.Namespace(lr=0.01)}, tmp_path / "model_0.pth")
    with pytest.raises(ConversionError, match="only unpickle by executing code"):
        convert_checkpoint(tmp_path / "model_0.pth", tmp_path / "out")
    assert not (tmp_path / "out").exists()
