"""The optimized PyTorch inference mode (folded batch normalization, channels-last) and the thread policy (which
lives in u2net_hf.devices and is still importable from u2net_hf.optimization)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from u2net_hf import devices, optimization
from u2net_hf.devices import NUM_THREADS_ENV, default_num_threads
from u2net_hf.optimization import fold_conv_batch_norm, optimize_for_inference


def randomize_batch_norm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every batch normalization non-trivial statistics, so that folding them has something to get wrong."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                size = module.num_features
                module.running_mean.copy_(torch.rand(size, generator=generator) - 0.5)
                module.running_var.copy_(torch.rand(size, generator=generator) * 2 + 0.1)
                module.weight.copy_(torch.rand(size, generator=generator) + 0.5)
                module.bias.copy_(torch.rand(size, generator=generator) - 0.5)
    return model


@pytest.fixture
def model(tiny_model):
    return randomize_batch_norm(tiny_model)


@pytest.mark.parametrize("channels_last", [True, False])
@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (2, 3, 37, 51), (3, 3, 5, 7)])
def test_optimized_model_matches_eager(model, channels_last, shape):
    pixel_values = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    optimized = optimize_for_inference(model, channels_last=channels_last)
    with torch.inference_mode():
        expected = model(pixel_values)
        actual = optimized(pixel_values)
    torch.testing.assert_close(torch.sigmoid(actual.logits), torch.sigmoid(expected.logits), atol=1e-4, rtol=0)
    torch.testing.assert_close(
        torch.sigmoid(actual.side_logits), torch.sigmoid(expected.side_logits), atol=1e-4, rtol=0
    )


def test_optimized_model_has_no_batch_norm_and_uses_channels_last(model):
    optimized = optimize_for_inference(model)
    assert not any(isinstance(module, nn.BatchNorm2d) for module in optimized.modules())
    convs = [module for module in optimized.modules() if isinstance(module, nn.Conv2d)]
    assert convs and all(conv.weight.is_contiguous(memory_format=torch.channels_last) for conv in convs)
    assert all(not parameter.requires_grad for parameter in optimized.parameters())
    assert not optimized.training


def test_optimizing_leaves_the_training_model_untouched(model):
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    optimize_for_inference(model)
    after = model.state_dict()
    assert before.keys() == after.keys()
    for name, tensor in before.items():
        assert torch.equal(tensor, after[name]), name
        assert after[name].is_contiguous(), name

    # It still trains: gradients reach the batch normalization, whose statistics move.
    model.train()
    pixel_values = torch.randn(2, 3, 32, 32)
    loss = model(pixel_values, labels=torch.rand(2, 1, 32, 32)).loss
    loss.backward()
    norm = model.u2net.encoder[0].input_conv.norm
    assert norm.weight.grad is not None and norm.weight.grad.abs().sum() > 0
    assert not torch.equal(norm.running_mean, before["u2net.encoder.0.input_conv.norm.running_mean"])


def test_fold_conv_batch_norm_matches_torch_fusion():
    # Independent implementation: torch.nn.utils.fusion.
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, padding=2, dilation=2, bias=False).eval()
    norm = randomize_batch_norm(nn.Sequential(nn.BatchNorm2d(6)))[0].eval()
    inputs = torch.randn(2, 4, 11, 13)
    with torch.no_grad():
        expected = fuse_conv_bn_eval(conv, norm)(inputs)
        folded = fold_conv_batch_norm(conv, norm)
        torch.testing.assert_close(folded(inputs), expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(folded(inputs), norm(conv(inputs)), atol=1e-5, rtol=1e-5)
    assert folded.dilation == (2, 2) and folded.padding == (2, 2)


def test_optimize_keeps_the_dtype(model):
    optimized = optimize_for_inference(model.to(torch.bfloat16), channels_last=False)
    assert {parameter.dtype for parameter in optimized.parameters()} == {torch.bfloat16}
    with torch.inference_mode():
        outputs = optimized(torch.randn(1, 3, 32, 32, dtype=torch.bfloat16))
    assert outputs.logits.dtype == torch.bfloat16


def test_optimize_accepts_a_model_spec():
    optimized = optimize_for_inference("u2net-lite")
    assert not any(isinstance(module, nn.BatchNorm2d) for module in optimized.modules())


def test_optimize_with_compile_wraps_the_folded_copy(model):
    # Only the wrapping: compiling for real takes minutes on a CPU (the benchmark measures it with --compile).
    compiled = optimize_for_inference(model, compile=True)
    assert isinstance(compiled, torch._dynamo.eval_frame.OptimizedModule)
    assert not any(isinstance(module, nn.BatchNorm2d) for module in compiled._orig_mod.modules())


def test_optimize_rejects_other_objects():
    with pytest.raises(TypeError, match="U2-Net model or a model spec"):
        optimize_for_inference(42)


def test_the_thread_policy_is_still_importable_from_optimization():
    assert optimization.default_num_threads is devices.default_num_threads
    assert optimization.NUM_THREADS_ENV == devices.NUM_THREADS_ENV == "U2NET_HF_NUM_THREADS"


def test_default_num_threads_follows_the_environment(monkeypatch):
    monkeypatch.setenv(NUM_THREADS_ENV, "3")
    assert default_num_threads() == 3


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_default_num_threads_rejects_bad_values(monkeypatch, value):
    monkeypatch.setenv(NUM_THREADS_ENV, value)
    with pytest.raises(ValueError, match=NUM_THREADS_ENV):
        default_num_threads()


def test_default_num_threads_for_torch_leaves_busy_cores_alone(monkeypatch):
    monkeypatch.delenv(NUM_THREADS_ENV, raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr("os.getloadavg", lambda: (2.6, 0.0, 0.0))
    assert default_num_threads("torch") == 2
    assert default_num_threads() == 4  # onnxruntime: every core, busy or not
    monkeypatch.setattr("os.getloadavg", lambda: (9.0, 0.0, 0.0))
    assert default_num_threads("torch") == 1
    monkeypatch.setattr("os.getloadavg", lambda: (0.7, 0.0, 0.0))
    assert default_num_threads("torch") == 4
    with pytest.raises(ValueError, match="backend"):
        default_num_threads("tensorflow")
