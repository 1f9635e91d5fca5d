import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from u2net_hf import U2NetConfig, U2NetForImageSegmentation, U2NetModel, U2NetSegmentationOutput


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(("preset", "expected"), [("full", 43_995_469), ("lite", 1_128_333)])
def test_parameter_counts_match_the_published_variants(preset, expected):
    assert count_parameters(U2NetForImageSegmentation(U2NetConfig(preset=preset))) == expected


@pytest.mark.parametrize("size", [(320, 320), (288, 288), (301, 457)])
def test_lite_outputs_are_at_input_resolution_for_any_size(size):
    torch.manual_seed(0)
    model = U2NetForImageSegmentation(U2NetConfig(preset="lite")).eval()
    with torch.no_grad():
        outputs = model(torch.randn(1, 3, *size))
    assert isinstance(outputs, U2NetSegmentationOutput)
    assert outputs.logits.shape == (1, 1, *size)
    assert outputs.side_logits.shape == (1, 6, *size)
    assert outputs.loss is None


@pytest.mark.parametrize("size", [(1, 1), (7, 5), (33, 65)])
def test_tiny_sizes_survive_ceil_mode_pooling(tiny_model, size):
    with torch.no_grad():
        outputs = tiny_model(torch.randn(2, 3, *size))
    assert outputs.logits.shape == (2, 1, *size)


def test_train_and_eval_return_the_same_structure(tiny_model):
    pixel_values = torch.randn(2, 3, 40, 36)
    eval_outputs = tiny_model.eval()(pixel_values)
    train_outputs = tiny_model.train()(pixel_values)
    assert list(eval_outputs.keys()) == list(train_outputs.keys()) == ["logits", "side_logits"]
    assert eval_outputs.side_logits.shape == train_outputs.side_logits.shape == (2, 3, 40, 36)


def test_fused_logits_are_the_fusion_conv_over_the_side_maps(tiny_model):
    with torch.no_grad():
        outputs = tiny_model(torch.randn(1, 3, 32, 32))
        expected = F.conv2d(outputs.side_logits, tiny_model.fusion.weight, tiny_model.fusion.bias)
    torch.testing.assert_close(outputs.logits, expected)


def test_loss_is_the_sum_of_the_seven_binary_cross_entropies():
    torch.manual_seed(0)
    model = U2NetForImageSegmentation(U2NetConfig(preset="lite")).eval()
    pixel_values = torch.randn(2, 3, 64, 48)
    labels = (torch.rand(2, 64, 48) > 0.5).float()
    with torch.no_grad():
        outputs = model(pixel_values, labels=labels)
    maps = [outputs.logits[:, 0]] + [outputs.side_logits[:, i] for i in range(6)]
    # Written against probabilities, as the paper states it, to check the logits form independently.
    expected = sum(F.binary_cross_entropy(torch.sigmoid(m).double(), labels.double()) for m in maps)
    assert outputs.loss.item() == pytest.approx(expected.item(), rel=1e-5)
    with torch.no_grad():
        with_channel = model(pixel_values, labels=labels[:, None])
    torch.testing.assert_close(with_channel.loss, outputs.loss)


def test_loss_backpropagates_to_every_parameter(tiny_model):
    tiny_model.train()
    outputs = tiny_model(torch.randn(2, 3, 24, 24), labels=torch.rand(2, 24, 24))
    outputs.loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in tiny_model.parameters())


def test_return_dict_false_gives_a_tuple(tiny_model):
    pixel_values, labels = torch.randn(1, 3, 16, 16), torch.rand(1, 16, 16)
    loss, logits, side_logits = tiny_model(pixel_values, labels=labels, return_dict=False)
    assert loss.ndim == 0 and logits.shape == (1, 1, 16, 16) and side_logits.shape == (1, 3, 16, 16)


@pytest.mark.parametrize(
    ("labels", "error", "message"),
    [
        (torch.rand(1, 8, 8), ValueError, "labels must have shape"),
        (torch.full((1, 16, 16), 2.0), ValueError, r"labels must lie in \[0, 1\]"),
    ],
)
def test_bad_labels_are_refused(tiny_model, labels, error, message):
    with pytest.raises(error, match=message):
        tiny_model(torch.randn(1, 3, 16, 16), labels=labels)


@pytest.mark.parametrize(
    ("pixel_values", "error", "message"),
    [
        (torch.randn(3, 16, 16), ValueError, "must be 4-D"),
        (torch.randn(1, 4, 16, 16), ValueError, "must have 3 channels"),
        (torch.randn(1, 16, 16, 3), ValueError, "permute"),
        (torch.full((1, 3, 8, 8), float("nan")), ValueError, "NaN or infinite"),
        (torch.full((1, 3, 8, 8), float("inf")), ValueError, "NaN or infinite"),
        (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), TypeError, "floating point"),
        ([[1.0, 2.0]], TypeError, "must be a torch.Tensor"),
    ],
)
def test_bad_pixel_values_get_a_clear_error(tiny_model, pixel_values, error, message):
    with pytest.raises(error, match=message):
        tiny_model(pixel_values)


def enable_checkpointing(model):
    # transformers 5 renamed the method; 4.x only has the old name.
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    enable()


def test_gradient_checkpointing_gives_the_same_gradients(tiny_config):
    torch.manual_seed(0)
    reference = U2NetForImageSegmentation(tiny_config).train()
    checkpointed = U2NetForImageSegmentation(tiny_config).train()
    checkpointed.load_state_dict(reference.state_dict())
    enable_checkpointing(checkpointed)
    assert checkpointed.u2net.gradient_checkpointing
    pixel_values, labels = torch.randn(2, 3, 32, 32), torch.rand(2, 32, 32)
    for model in (reference, checkpointed):
        model(pixel_values, labels=labels).loss.backward()
    for (name, p), q in zip(reference.named_parameters(), checkpointed.parameters()):
        assert q.grad is not None, name
        torch.testing.assert_close(q.grad, p.grad, msg=name)


def test_save_and_reload_gives_identical_outputs_from_safetensors_only(tmp_path, tiny_model):
    randomize_batch_norm_statistics(tiny_model)
    tiny_model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    reloaded = U2NetForImageSegmentation.from_pretrained(tmp_path)
    assert not reloaded.training
    pixel_values = torch.randn(2, 3, 27, 31)
    with torch.no_grad():
        assert torch.equal(reloaded(pixel_values).logits, tiny_model(pixel_values).logits)


def randomize_batch_norm_statistics(model):
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(module.num_features, generator=generator) + 0.5)


def test_loading_without_step_counters_keeps_the_batch_norm_statistics(tmp_path, tiny_model):
    # transformers 5 re-initializes modules with missing tensors after loading; that must not wipe
    # the running statistics that were loaded (converted checkpoints carry no num_batches_tracked).
    randomize_batch_norm_statistics(tiny_model)
    tiny_model.save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    save_file(
        {k: v for k, v in weights.items() if "num_batches_tracked" not in k},
        tmp_path / "model.safetensors",
        metadata={"format": "pt"},
    )
    reloaded = U2NetForImageSegmentation.from_pretrained(tmp_path)
    for (name, expected), actual in zip(tiny_model.state_dict().items(), reloaded.state_dict().values()):
        if "num_batches_tracked" not in name:
            assert torch.equal(actual, expected), name


def test_bare_model_loads_the_head_checkpoint_and_returns_stage_features(tmp_path, tiny_model):
    tiny_model.save_pretrained(tmp_path)
    backbone, info = U2NetModel.from_pretrained(tmp_path, output_loading_info=True)
    # The head's tensors are left out on purpose, not reported (transformers 5 would print a LOAD REPORT).
    assert not info["unexpected_keys"] and not info["missing_keys"]
    pixel_values = torch.randn(1, 3, 20, 20)
    with torch.no_grad():
        features = backbone(pixel_values)
        expected = tiny_model.u2net(pixel_values)
    assert len(features.hidden_states) == 3
    assert features.last_hidden_state.shape == (1, 8, 20, 20)
    assert torch.equal(features.last_hidden_state, expected.last_hidden_state)


def test_meta_device_construction(tiny_config):
    with torch.device("meta"):
        model = U2NetForImageSegmentation(tiny_config)
    assert all(p.is_meta for p in model.parameters())


def test_bfloat16_loading_and_float32_input(tmp_path, tiny_model):
    tiny_model.save_pretrained(tmp_path)
    try:
        model = U2NetForImageSegmentation.from_pretrained(tmp_path, dtype=torch.bfloat16)
    except TypeError:  # transformers < 4.56 only knows torch_dtype
        model = U2NetForImageSegmentation.from_pretrained(tmp_path, torch_dtype=torch.bfloat16)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    with torch.no_grad():
        outputs = model(torch.randn(1, 3, 16, 16))
    assert outputs.logits.dtype == torch.bfloat16


def test_frozen_batch_norm_keeps_statistics_while_training(tiny_config):
    tiny_config.freeze_batch_norm = True
    model = U2NetForImageSegmentation(tiny_config).train()
    assert model.training
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and not any(m.training for m in norms)
    before = {k: v.clone() for k, v in model.state_dict().items() if "running" in k}
    model(torch.randn(2, 3, 16, 16), labels=torch.rand(2, 16, 16)).loss.backward()
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(m.weight.grad is not None for m in norms)  # affine parameters still learn


def test_unfrozen_batch_norm_updates_statistics(tiny_model):
    tiny_model.train()
    before = tiny_model.u2net.encoder[0].input_conv.norm.running_mean.clone()
    tiny_model(torch.randn(2, 3, 16, 16))
    assert not torch.equal(before, tiny_model.u2net.encoder[0].input_conv.norm.running_mean)


def test_hidden_states_only_when_asked_for_and_equal_to_the_bare_model_features(tmp_path, tiny_model):
    pixel_values = torch.randn(2, 3, 28, 36)
    tiny_model.save_pretrained(tmp_path)
    backbone = U2NetModel.from_pretrained(tmp_path)
    with torch.no_grad():
        default = tiny_model(pixel_values)
        outputs = tiny_model(pixel_values, output_hidden_states=True)
        features = backbone(pixel_values).hidden_states
    assert default.hidden_states is None and "hidden_states" not in default
    assert list(outputs.keys()) == ["logits", "side_logits", "hidden_states"]
    assert isinstance(outputs.hidden_states, tuple) and len(outputs.hidden_states) == len(features) == 3
    assert all(torch.equal(a, b) for a, b in zip(outputs.hidden_states, features))
    assert [tuple(f.shape) for f in outputs.hidden_states] == [(2, 8, 28, 36), (2, 8, 14, 18), (2, 8, 7, 9)]
    # Asking for the features changes nothing else.
    assert torch.equal(outputs.logits, default.logits) and torch.equal(outputs.side_logits, default.side_logits)


def test_hidden_states_follow_the_config_unless_overridden(tmp_path, tiny_model):
    tiny_model.save_pretrained(tmp_path)
    model = U2NetForImageSegmentation.from_pretrained(tmp_path, output_hidden_states=True)
    pixel_values = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        assert len(model(pixel_values).hidden_states) == 3
        assert model(pixel_values, output_hidden_states=False).hidden_states is None


def test_return_dict_false_puts_the_hidden_states_last(tiny_model):
    pixel_values, labels = torch.randn(1, 3, 16, 16), torch.rand(1, 16, 16)
    with torch.no_grad():
        loss, logits, _, hidden_states = tiny_model(
            pixel_values, labels=labels, output_hidden_states=True, return_dict=False
        )
        logits_only, _, features = tiny_model(pixel_values, output_hidden_states=True, return_dict=False)
    assert loss.ndim == 0 and torch.equal(logits, logits_only)
    assert len(hidden_states) == len(features) == 3 and torch.equal(hidden_states[0], features[0])
