"""The xuebinqin/U-2-Net `.pth` converter: exact outputs, variant inference, clear refusals."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from foreign_layouts import UPSTREAM, RecordingDict, random_checkpoint, run_foreign_u2net

from u2net_hf import U2NetImageProcessor
from u2net_hf.conversion import ConversionError, convert_checkpoint
from u2net_hf.conversion.convert_upstream_u2net_to_pytorch import (
    convert_state_dict,
    expected_shapes,
    upstream_to_state_dict,
)
from u2net_hf.modeling_u2net import U2NetForImageSegmentation


def _outputs(model: U2NetForImageSegmentation, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        out = model(x)
    return torch.cat([out.logits, out.side_logits], 1)


@pytest.mark.parametrize("preset", ["lite", "full"])
def test_converted_model_reproduces_the_upstream_network(preset):
    torch.manual_seed(0)
    upstream = random_checkpoint(expected_shapes(preset), seed=1)
    x = torch.randn(1, 3, 45, 61)  # odd sizes exercise ceil-mode pooling and upsampling to odd shapes

    recorded = RecordingDict(upstream)
    with torch.no_grad():
        expected = torch.cat(run_foreign_u2net(recorded, UPSTREAM, preset, x), 1)
    assert recorded.read == {name for name in upstream if not name.endswith("num_batches_tracked")}

    converted = convert_state_dict(upstream, source="u2net.pth")
    assert converted.preset == preset  # inferred from the shapes
    assert not converted.freeze_batch_norm  # real statistics: fine-tuning may update them
    actual = _outputs(converted.to_model(), x)
    # Random networks reach logits in the hundreds: float32 noise is relative to that scale.
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5 * expected.abs().max().item())


def test_conv_bias_folds_exactly_into_the_batch_norm_mean():
    upstream = random_checkpoint(expected_shapes("lite"), seed=2)
    ours, _ = upstream_to_state_dict(upstream)
    x = torch.randn(2, 3, 17, 19)
    prefix = "stage1.rebnconvin"
    reference = F.batch_norm(
        F.conv2d(x, upstream[f"{prefix}.conv_s1.weight"], upstream[f"{prefix}.conv_s1.bias"], padding=1),
        upstream[f"{prefix}.bn_s1.running_mean"],
        upstream[f"{prefix}.bn_s1.running_var"],
        upstream[f"{prefix}.bn_s1.weight"],
        upstream[f"{prefix}.bn_s1.bias"],
        training=False,
    )
    unit = "u2net.encoder.0.input_conv"
    folded = F.batch_norm(
        F.conv2d(x, ours[f"{unit}.conv.weight"], padding=1),
        ours[f"{unit}.norm.running_mean"],
        ours[f"{unit}.norm.running_var"],
        ours[f"{unit}.norm.weight"],
        ours[f"{unit}.norm.bias"],
        training=False,
    )
    torch.testing.assert_close(folded, reference, rtol=1e-5, atol=1e-6)


def test_checkpoints_without_step_counters_and_from_data_parallel_convert(tmp_path):
    upstream = random_checkpoint(expected_shapes("lite"))
    legacy = {f"module.{name}": t for name, t in upstream.items() if not name.endswith("num_batches_tracked")}
    torch.save(legacy, tmp_path / "u2netp.pth")
    folder = convert_checkpoint(tmp_path / "u2netp.pth", tmp_path / "out")
    model = U2NetForImageSegmentation.from_pretrained(folder).eval()
    assert U2NetImageProcessor.from_pretrained(folder).rescale_by_max  # upstream's training normalisation
    expected = convert_state_dict(upstream).to_model()
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(_outputs(model, x), _outputs(expected, x))


def test_missing_unexpected_and_misshapen_tensors_are_named():
    upstream = random_checkpoint(expected_shapes("lite"))
    del upstream["stage3.rebnconv2.conv_s1.weight"], upstream["side4.bias"]
    upstream["stage7.rebnconvin.conv_s1.weight"] = torch.zeros(1)
    upstream["outconv.weight"] = torch.zeros(1, 7, 1, 1)
    with pytest.raises(ConversionError) as error:
        convert_state_dict(upstream, source="u2netp.pth")
    message = str(error.value)
    assert message.startswith("u2netp.pth: ")
    for name in ("stage3.rebnconv2.conv_s1.weight", "side4.bias", "stage7.rebnconvin.conv_s1.weight"):
        assert name in message
    assert "outconv.weight (1, 7, 1, 1) instead of (1, 6, 1, 1)" in message
    assert "\n" not in message


def test_a_variant_that_does_not_match_is_refused():
    upstream = random_checkpoint(expected_shapes("lite"))
    with pytest.raises(ConversionError, match="does not match the 'full' variant"):
        convert_state_dict(upstream, variant="full")
