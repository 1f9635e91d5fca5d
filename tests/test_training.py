"""Training on transformers' Trainer: optimizer groups, schedule, BatchNorm freezing, resuming, multi-process runs,
and learning on the synthetic saliency set (fine-tuning the bundled lite model, and lite from scratch)."""

import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY_STAGES
from safetensors.torch import load_file
from synthetic import write_synthetic_dataset
from transformers import TrainerCallback

from u2net_hf import U2NetConfig, U2NetForImageSegmentation
from u2net_hf.metrics import evaluate
from u2net_hf.pretrained import resolve_model_path
from u2net_hf.training import (
    U2NetTrainer,
    has_batch_norm_statistics,
    resolve_freeze_batch_norm,
    train,
    training_args,
    weight_decay_parameter_names,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
# Small enough to train in seconds on two CPU cores: 48 px crops of 56 px images.
TINY_RUN = {"image_size": 56, "crop_size": 48, "per_device_train_batch_size": 4, "disable_tqdm": True}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    return write_synthetic_dataset(tmp_path_factory.mktemp("tiny") / "train", 12, size=56)


@pytest.fixture(scope="module")
def synthetic_sets(tmp_path_factory) -> tuple[Path, Path]:
    """The learning benchmark: 48 training and 16 held-out samples of 112 px."""
    root = tmp_path_factory.mktemp("synthetic")
    return (
        write_synthetic_dataset(root / "train", 48, size=112),
        write_synthetic_dataset(root / "DUTS-TE", 16, size=112, layout="duts", start=1000),
    )


def tiny_config() -> U2NetConfig:
    return U2NetConfig(**TINY_STAGES)


def test_weight_decay_spares_biases_and_normalization_layers(tiny_model, tmp_path):
    trainer = U2NetTrainer(model=tiny_model, args=training_args(tmp_path, use_cpu=True))
    optimizer = trainer.create_optimizer()
    decayed, spared = (group for group in optimizer.param_groups if group["params"])
    assert decayed["weight_decay"] == 1e-4 and spared["weight_decay"] == 0
    parameters = dict(tiny_model.named_parameters())
    decayed_names = {name for name, p in parameters.items() if any(p is q for q in decayed["params"])}
    assert decayed_names == {name for name, p in parameters.items() if p.ndim == 4}  # exactly the conv weights
    assert all(".norm." in name or name.endswith("bias") for name in parameters.keys() - decayed_names)
    assert set(weight_decay_parameter_names(tiny_model)) == decayed_names


def test_learning_rate_warms_up_linearly_then_follows_a_cosine(tiny_model, tmp_path):
    trainer = U2NetTrainer(model=tiny_model, args=training_args(tmp_path, use_cpu=True))
    trainer.create_optimizer_and_scheduler(num_training_steps=100)
    rates = []
    for _ in range(101):
        rates.append(trainer.lr_scheduler.get_last_lr()[0])
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
    peak = 1e-4  # the fine-tuning default
    assert rates[0] == 0 and rates[5] == pytest.approx(peak)  # 5% warmup
    assert rates[3] == pytest.approx(peak * 3 / 5)
    assert rates[5 + 95 // 2] == pytest.approx(peak / 2, rel=0.02)  # cosine: half way down at mid-decay
    assert all(a >= b for a, b in itertools.pairwise(rates[5:])) and rates[100] == pytest.approx(0, abs=1e-9)


def test_training_arguments_defaults_and_passthrough(tmp_path):
    fine_tuning = training_args(tmp_path)
    assert fine_tuning.learning_rate == 1e-4 and fine_tuning.weight_decay == 1e-4
    assert fine_tuning.lr_scheduler_type == "cosine" and fine_tuning.eval_strategy == "no"
    assert training_args(tmp_path, from_scratch=True).learning_rate == 1e-3
    with_eval = training_args(tmp_path, has_eval_data=True, save_steps=7)
    assert with_eval.eval_strategy == "steps" and with_eval.eval_steps == 7
    # Any TrainingArguments field goes through, overriding the defaults.
    custom = training_args(tmp_path, adam_beta2=0.99, gradient_accumulation_steps=3, learning_rate=5e-5)
    assert (custom.adam_beta2, custom.gradient_accumulation_steps, custom.learning_rate) == (0.99, 3, 5e-5)
    with pytest.raises(TypeError, match=r"Unknown training argument\(s\) learning_rat:"):
        training_args(tmp_path, learning_rat=1)


def test_batch_norm_freezing_is_automatic_for_weights_without_statistics():
    lite = U2NetForImageSegmentation.from_pretrained(resolve_model_path("u2net-lite"))
    assert not has_batch_norm_statistics(lite)  # folded: mean 0, variance 1 - eps
    assert resolve_freeze_batch_norm("auto", lite, pretrained=True) is True

    scratch = U2NetForImageSegmentation(tiny_config())
    assert resolve_freeze_batch_norm("auto", scratch, pretrained=False) is False
    with torch.no_grad():
        scratch.u2net.encoder[0].input_conv.norm.running_var.fill_(2.5)
    assert has_batch_norm_statistics(scratch)
    assert resolve_freeze_batch_norm("auto", scratch, pretrained=True) is False  # real statistics: train them
    assert resolve_freeze_batch_norm(True, scratch, pretrained=False) is True
    assert resolve_freeze_batch_norm(False, lite, pretrained=True) is False
    with pytest.raises(ValueError, match="True, False or 'auto'"):
        resolve_freeze_batch_norm("yes", lite, pretrained=True)


class StopAt(TrainerCallback):
    """Interrupt a run after `step` optimizer steps, as a crash or a killed job would (after its checkpoint)."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


def final_weights(output_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(output_dir / "model.safetensors")


def test_resuming_gives_the_weights_of_an_uninterrupted_run(tiny_data, tmp_path):
    # 6 steps of 4 samples over 12 samples: two epochs, interrupted in the second one, so that the resumed run
    # must restore the model, optimizer, schedule, data order and augmentation of a later epoch.
    run = {**TINY_RUN, "max_steps": 6, "seed": 3, "use_cpu": True, "logging_steps": 1}
    train(tiny_config(), tiny_data, tmp_path / "straight", save_strategy="no", **run)
    train(tiny_config(), tiny_data, tmp_path / "resumed", save_steps=4, callbacks=[StopAt(4)], **run)
    interrupted = final_weights(tmp_path / "resumed")
    assert sorted(os.listdir(tmp_path / "resumed")).count("checkpoint-4") == 1
    result = train(
        tiny_config(),
        tiny_data,
        tmp_path / "resumed",
        save_steps=4,
        resume_from_checkpoint=str(tmp_path / "resumed" / "checkpoint-4"),
        **run,
    )

    assert result.global_step == 6
    straight, resumed = final_weights(tmp_path / "straight"), final_weights(tmp_path / "resumed")
    assert straight.keys() == resumed.keys()
    assert not all(torch.equal(straight[name], interrupted[name]) for name in straight)  # 4 steps != 6 steps
    for name in straight:
        torch.testing.assert_close(resumed[name], straight[name], rtol=0, atol=1e-7, msg=name)


def test_gradient_checkpointing_trains_the_same_model(tiny_data, tmp_path):
    class RecordCheckpointing(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kwargs):
            self.enabled = model.u2net.gradient_checkpointing

    record = RecordCheckpointing()
    run = {**TINY_RUN, "max_steps": 2, "save_strategy": "no", "use_cpu": True}
    plain = train(tiny_config(), tiny_data, tmp_path / "plain", **run)
    checkpointed = train(
        tiny_config(), tiny_data, tmp_path / "checkpointed", gradient_checkpointing=True, callbacks=[record], **run
    )
    assert record.enabled
    # Same gradients, so the same parameters. (BatchNorm running statistics are left out: the recomputed forward
    # pass of a checkpointed stage updates them a second time.)
    checkpointed_parameters = dict(checkpointed.model.named_parameters())
    for name, value in plain.model.named_parameters():
        torch.testing.assert_close(checkpointed_parameters[name], value, rtol=1e-5, atol=1e-6, msg=name)


def test_bad_training_data_fails_before_training(tiny_data, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        train(tiny_config(), tmp_path / "missing", tmp_path / "out", **TINY_RUN)
    with pytest.raises(ValueError, match="needs data"):
        train(tiny_config(), None, tmp_path / "out")
    with pytest.raises(ValueError, match="crop_size"):
        train(tiny_config(), tiny_data, tmp_path / "out", image_size=32, crop_size=48)
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_corrupt_training_files_are_skipped_and_counted(tmp_path):
    data = write_synthetic_dataset(tmp_path / "data", 8, size=56)
    (data / "images" / "0005.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    result = train(tiny_config(), data, tmp_path / "out", max_steps=2, save_strategy="no", use_cpu=True, **TINY_RUN)
    assert result.global_step == 2 and result.skipped == 1


@pytest.mark.slow
def test_fine_tuning_the_bundled_lite_model_lowers_held_out_mae(synthetic_sets, tmp_path):
    train_data, held_out = synthetic_sets
    before = evaluate("u2net-lite", held_out, image_size=112, progress=False)
    # Default flags apart from the run's length and size: they must improve the model, not wreck it.
    result = train(
        "u2net-lite",
        train_data,
        tmp_path / "fine-tuned",
        eval_data=held_out,
        image_size=112,
        crop_size=96,
        max_steps=20,
        per_device_train_batch_size=4,
        save_strategy="no",
        disable_tqdm=True,
    )
    assert result.freeze_batch_norm and result.model.config.freeze_batch_norm
    assert not has_batch_norm_statistics(result.model)  # the folded placeholders were not overwritten
    assert result.metrics["mae"] <= 0.7 * before["mae"], (before["mae"], result.metrics["mae"])
    assert result.metrics["max_fmeasure"] > before["max_fmeasure"]

    # What was saved is what was scored: evaluating the output folder (whose processor now works at 112 px)
    # reproduces eval_results.json.
    saved = json.loads((tmp_path / "fine-tuned" / "eval_results.json").read_text())
    assert saved == pytest.approx(evaluate(tmp_path / "fine-tuned", held_out, progress=False))
    card = (tmp_path / "fine-tuned" / "README.md").read_text()
    assert "base_model: u2net-hf/u2net-lite" in card and f"{result.metrics['mae']:.4g}" in card


@pytest.mark.slow
def test_lite_from_scratch_learns_the_synthetic_set(synthetic_sets, tmp_path):
    train_data, held_out = synthetic_sets
    result = train(
        "u2net-lite",
        train_data,
        tmp_path / "scratch",
        from_scratch=True,
        eval_data=held_out,
        image_size=112,
        crop_size=96,
        max_steps=60,
        per_device_train_batch_size=4,
        save_strategy="no",
        disable_tqdm=True,
    )
    assert not result.freeze_batch_norm and has_batch_norm_statistics(result.model)
    assert result.metrics["mae"] < 0.1, result.metrics


def run_process_group(command: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """Run a command that starts processes of its own; on timeout, end all of them, not only the launcher."""
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kwargs
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            pytest.fail(f"{command[:6]} did not finish in {timeout} s:\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.mark.slow
def test_torchrun_trains_with_two_cpu_processes(tiny_data, tmp_path):
    model_dir = tmp_path / "tiny-model"
    U2NetForImageSegmentation(tiny_config()).save_pretrained(model_dir)
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "u2net_hf", "train", "--data", str(tiny_data), "--model", str(model_dir),
        "--output-dir", str(tmp_path / "out"), "--max-steps", "2", "--batch-size", "2",
        "--image-size", "40", "--crop-size", "32", "--training-arg", "save_steps=2",
        "--training-arg", "use_cpu=true", "--training-arg", "disable_tqdm=true",
    ]  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    process = run_process_group(command, timeout=240, env=environment, cwd=tmp_path)
    assert process.returncode == 0, process.stderr[-3000:]

    checkpoints = sorted(path.name for path in (tmp_path / "out").glob("checkpoint-*"))
    assert checkpoints == ["checkpoint-2"]
    # One random-generator state per process: both ranks trained.
    assert {path.name for path in (tmp_path / "out" / "checkpoint-2").glob("rng_state*")} == {
        "rng_state_0.pth",
        "rng_state_1.pth",
    }
    state = json.loads((tmp_path / "out" / "trainer_state.json").read_text())
    assert state["global_step"] == 2
    assert process.stdout.count("Trained 2 steps") == 1  # the summary comes from rank 0 only
