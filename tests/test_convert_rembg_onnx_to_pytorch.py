"""The rembg ONNX converter: positional mapping with checks, exact BatchNorm unfolding, clear refusals.

Parity of the converted official weights with onnxruntime lives in test_pretrained_weights.py."""

from __future__ import annotations

import io
import warnings

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper
from rembg_onnx import u2netp_onnx_path

from u2net_hf import U2NetConfig, U2NetForImageSegmentation
from u2net_hf.conversion import ConversionError, conv_units, folded_batch_norm
from u2net_hf.conversion.convert_rembg_onnx_to_pytorch import convert_rembg_onnx, rembg_onnx_to_state_dict


@pytest.fixture(scope="module")
def official_onnx() -> onnx.ModelProto:
    return onnx.load(str(u2netp_onnx_path()))


@pytest.fixture
def onnx_copy(official_onnx) -> onnx.ModelProto:
    copy = onnx.ModelProto()
    copy.CopyFrom(official_onnx)
    return copy


def test_unfolded_batch_norm_adds_the_folded_bias_exactly():
    bias = torch.randn(16)
    norm = torch.nn.BatchNorm2d(16, eps=1e-5).eval()
    norm.load_state_dict(folded_batch_norm(bias, 1e-5))
    x = torch.randn(2, 16, 9, 9) * 10
    with torch.no_grad():
        assert torch.equal(norm(x), x + bias[:, None, None])


def test_official_file_maps_every_conv_in_order(official_onnx):
    state_dict, preset = rembg_onnx_to_state_dict(official_onnx)
    assert preset == "lite"
    U2NetForImageSegmentation(U2NetConfig(preset="lite")).load_state_dict(state_dict, strict=True)

    folded = [
        n for n in official_onnx.graph.node if n.op_type == "Conv" and not n.input[1].startswith(("side", "out"))
    ]
    initializers = {t.name: numpy_helper.to_array(t) for t in official_onnx.graph.initializer}
    units = conv_units("lite")
    assert len(folded) == len(units) == 112
    for node, (module, _, dilation) in zip(folded, units, strict=True):
        assert np.array_equal(state_dict[f"{module}.conv.weight"].numpy(), initializers[node.input[1]])
        assert np.array_equal(state_dict[f"{module}.norm.bias"].numpy(), initializers[node.input[2]])
        node_dilation = next((list(a.ints) for a in node.attribute if a.name == "dilations"), [1, 1])[0]
        assert node_dilation == dilation
    for k in range(6):  # upstream's side{k+1} computes d{k+1}, our side_convs[k]
        assert np.array_equal(state_dict[f"side_convs.{k}.weight"].numpy(), initializers[f"side{k + 1}.weight"])
    assert np.array_equal(state_dict["fusion.bias"].numpy(), initializers["outconv.bias"])


def _initializer(model: onnx.ModelProto, name: str) -> onnx.TensorProto:
    return next(t for t in model.graph.initializer if t.name == name)


def _first_folded_conv(model: onnx.ModelProto) -> onnx.NodeProto:
    return next(n for n in model.graph.node if n.op_type == "Conv")


def test_a_weight_of_the_wrong_shape_is_named(onnx_copy):
    weight_name = _first_folded_conv(onnx_copy).input[1]
    _initializer(onnx_copy, weight_name).CopyFrom(
        numpy_helper.from_array(np.zeros((64, 4, 3, 3), np.float32), weight_name)
    )
    with pytest.raises(ConversionError) as error:
        rembg_onnx_to_state_dict(onnx_copy, source="u2netp.onnx")
    message = str(error.value)
    assert f"(weight {weight_name!r}) has shape (64, 4, 3, 3)" in message
    assert "u2net.encoder.0.input_conv needs (64, 3, 3, 3)" in message


def test_a_missing_initializer_is_named(onnx_copy):
    bias_name = _first_folded_conv(onnx_copy).input[2]
    kept = [t for t in onnx_copy.graph.initializer if t.name != bias_name]
    del onnx_copy.graph.initializer[:]
    onnx_copy.graph.initializer.extend(kept)
    with pytest.raises(ConversionError, match=f"uses missing tensors: {bias_name}"):
        rembg_onnx_to_state_dict(onnx_copy)


def test_an_unused_initializer_is_refused(onnx_copy):
    onnx_copy.graph.initializer.append(numpy_helper.from_array(np.zeros(3, np.float32), "stray.weight"))
    with pytest.raises(ConversionError, match=r"1 initializers no node uses: stray\.weight"):
        rembg_onnx_to_state_dict(onnx_copy)


def test_a_graph_with_a_missing_layer_matches_no_variant(onnx_copy):
    conv = _first_folded_conv(onnx_copy)
    conv.op_type = "Identity"  # the layer disappears from the conv sequence
    with pytest.raises(ConversionError, match=r"does not match any variant .*111 folded conv\+BN layers"):
        rembg_onnx_to_state_dict(onnx_copy)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_unreadable_onnx_files_are_refused(tmp_path, damage):
    data = u2netp_onnx_path().read_bytes()
    path = tmp_path / "u2netp.onnx"
    path.write_bytes(data[: len(data) // 3] if damage == "truncated" else b"\x08\x07" + bytes(range(256)) * 8)
    with pytest.raises(ConversionError, match="not a readable ONNX model; the file is truncated or corrupted"):
        convert_rembg_onnx(path)


def _randomize_batch_norm(model: torch.nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            channels = module.num_features
            module.weight.data = torch.rand(channels, generator=generator) + 0.5
            module.bias.data = torch.randn(channels, generator=generator) * 0.1
            module.running_mean.copy_(torch.randn(channels, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(channels, generator=generator) + 0.5)


class _Probabilities(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        outputs = self.model(pixel_values)
        return torch.sigmoid(outputs.logits), torch.sigmoid(outputs.side_logits)


@pytest.mark.slow
def test_full_size_export_with_folded_batch_norm_converts_back():
    """The same graph at full size (what u2net.onnx / u2net_human_seg.onnx are): export a full U2-Net with
    trained-looking BatchNorm statistics through torch's own BN-folding exporter, convert it back."""
    torch.manual_seed(0)
    original = U2NetForImageSegmentation(U2NetConfig(preset="full")).eval()
    _randomize_batch_norm(original, seed=1)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Probabilities(original).eval(),
            torch.randn(1, 3, 64, 64),
            buffer,
            dynamo=False,
            opset_version=11,
            do_constant_folding=True,
            training=torch.onnx.TrainingMode.EVAL,
        )
    exported = onnx.load_from_string(buffer.getvalue())
    assert not any(node.op_type == "BatchNormalization" for node in exported.graph.node)

    state_dict, preset = rembg_onnx_to_state_dict(exported)
    assert preset == "full"
    converted = U2NetForImageSegmentation(U2NetConfig(preset="full")).eval()
    converted.load_state_dict(state_dict, strict=True)
    x = torch.randn(1, 3, 48, 80)
    with torch.no_grad():
        expected, actual = original(x), converted(x)
    scale = expected.logits.abs().max().item()
    torch.testing.assert_close(actual.logits, expected.logits, rtol=0, atol=1e-5 * scale)
    torch.testing.assert_close(actual.side_logits, expected.side_logits, rtol=0, atol=1e-5 * scale)
