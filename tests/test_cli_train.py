"""The `u2net-hf train` and `u2net-hf evaluate` commands: flags, TrainingArguments passthrough, one-line errors, and a
train -> push to the local test Hub -> AutoModel.from_pretrained -> evaluate round trip."""

import json
from pathlib import Path

import pytest
from conftest import TINY_STAGES
from hub_server import LocalHub, run_with_hub_env
from synthetic import write_synthetic_dataset

from u2net_hf import U2NetConfig, U2NetForImageSegmentation, U2NetImageProcessor
from u2net_hf.cli import CommandError, main
from u2net_hf.cli.train import parse_training_arguments

REPO_ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--image-size", "40", "--crop-size", "32", "--batch-size", "2", "--training-arg", "disable_tqdm=true"]


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-model")
    U2NetForImageSegmentation(U2NetConfig(**TINY_STAGES)).save_pretrained(folder)
    U2NetImageProcessor(size={"height": 40, "width": 40}).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("data")
    return (
        write_synthetic_dataset(root / "train", 6, size=40),
        write_synthetic_dataset(root / "DUTS-TE", 4, size=(36, 44), layout="duts", start=50),
    )


def test_training_arguments_are_converted_like_transformers_does():
    arguments = parse_training_arguments(
        [
            "bf16=false",
            "save_steps=10",
            "gradient-accumulation-steps=2",
            "lr_scheduler_type=constant_with_warmup",
            "adam_beta2=0.98",
            "report_to=tensorboard, wandb",
            "label_names=labels",
            'lr_scheduler_kwargs={"num_cycles": 2}',
        ]
    )
    assert arguments["bf16"] is False and arguments["save_steps"] == 10 and arguments["adam_beta2"] == 0.98
    assert arguments["gradient_accumulation_steps"] == 2 and arguments["lr_scheduler_type"] == "constant_with_warmup"
    assert arguments["report_to"] == ["tensorboard", "wandb"] and arguments["label_names"] == ["labels"]
    assert json.loads(arguments["lr_scheduler_kwargs"]) == {"num_cycles": 2}


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("warmup", "expected KEY=VALUE"),
        ("learning_rat=1", "not a transformers TrainingArguments field"),
        ("save_steps=often", "save_steps=often"),
    ],
)
def test_bad_training_arguments_are_refused(pair, message):
    with pytest.raises(CommandError, match=message):
        parse_training_arguments([pair])


def test_train_then_evaluate_reports_the_same_metrics(tiny_model_dir, data, tmp_path, capsys):
    train_data, held_out = data
    output = tmp_path / "run"
    code = main(
        [
            *("train", "--data", str(train_data), "--eval-data", str(held_out), "--model", str(tiny_model_dir)),
            *("--output-dir", str(output), "--max-steps", "3", "--lr", "3e-3", "--seed", "5", *SMALL),
            *("--training-arg", "save_steps=3", "--training-arg", "warmup_steps=1", "--freeze-batch-norm", "no"),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "Trained 3 steps" in printed and "BatchNorm frozen" not in printed and "maxF" in printed
    arguments = json.loads((output / "checkpoint-3" / "trainer_state.json").read_text())
    assert arguments["global_step"] == 3
    config = json.loads((output / "config.json").read_text())
    assert config["freeze_batch_norm"] is False
    assert json.loads((output / "preprocessor_config.json").read_text())["size"] == {"height": 40, "width": 40}

    reported = json.loads((output / "eval_results.json").read_text())
    assert reported["num_images"] == 4
    assert main(["evaluate", "--model", str(output), "--data", str(held_out), "--json", str(tmp_path / "e.json")]) == 0
    printed = capsys.readouterr().out
    evaluated = json.loads((tmp_path / "e.json").read_text())
    assert evaluated["model"] == str(output) and evaluated["data"] == str(held_out)
    assert {key: evaluated[key] for key in reported} == pytest.approx(reported)
    assert "4 images" in printed and f"{reported['mae']:.4f}" in printed and "S-measure" in printed


def test_short_flags_and_training_args_must_agree(tiny_model_dir, data, tmp_path, capsys):
    code = main(
        [
            *("train", "--data", str(data[0]), "--model", str(tiny_model_dir), "--output-dir", str(tmp_path / "run")),
            *("--max-steps", "3", "--training-arg", "max_steps=4"),
        ]
    )
    assert code == 1
    assert "--max-steps and --training-arg max_steps=... disagree" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["train", "--data", "{missing}"], "does not exist"),
        (["train", "--data", "{unpaired}"], "Unpaired files: 1 image in"),
        (
            ["train", "--data", "{train}", "--crop-size", "64", "--image-size", "32"],
            "--crop-size (64) cannot be larger",
        ),
        (["train", "--data", "{train}", "--training-arg", "nonsense=1"], "'nonsense' is not a transformers"),
        (["evaluate", "--data", "{missing}"], "does not exist"),
        (["evaluate", "--data", "{unpaired}", "--model", "{model}"], "without a mask: 0002.png"),
        (["evaluate", "--data", "{train}", "--model", "{missing}"], "no folder of that name exists"),
    ],
)
def test_bad_data_gives_a_one_line_error(command, message, tiny_model_dir, data, tmp_path, capsys):
    unpaired = write_synthetic_dataset(tmp_path / "unpaired", 3, size=16)
    (unpaired / "masks" / "0002.png").unlink()
    paths = {"missing": tmp_path / "missing", "unpaired": unpaired, "train": data[0], "model": tiny_model_dir}
    command = [part.format(**paths) for part in command]
    if command[0] == "train":
        command += ["--output-dir", str(tmp_path / "out"), "--model", str(tiny_model_dir)]
    assert main(command) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"u2net-hf {command[0]}: error: ") and message in error
    assert error.count("\n") == 1 and "Traceback" not in error
    assert not (tmp_path / "out" / "model.safetensors").exists()


@pytest.mark.slow
def test_train_push_load_and_evaluate_round_trip(tiny_model_dir, data, tmp_path):
    # `train --push-to-hub` against the local Hub, then, in a fresh cache, AutoModel.from_pretrained of the pushed
    # repo and `evaluate` on it must reproduce the metrics the run reported. The Hub clients read HF_ENDPOINT at
    # import time, so all of this runs in one fresh interpreter.
    train_data, held_out = data
    output = tmp_path / "run"
    script = f"""
        import json, torch
        import u2net_hf
        from transformers import AutoModelForImageSegmentation
        from u2net_hf.cli import main
        from u2net_hf.metrics import evaluate

        torch.set_num_threads(1)
        code = main([
            "train", "--data", {str(train_data)!r}, "--eval-data", {str(held_out)!r}, "--model", {str(tiny_model_dir)!r},
            "--output-dir", {str(output)!r}, "--max-steps", "2", "--push-to-hub", "org/trained", *{SMALL!r},
        ])
        model = AutoModelForImageSegmentation.from_pretrained("org/trained")
        pixel_values = torch.linspace(-1, 1, 3 * 40 * 40).reshape(1, 3, 40, 40)
        local = u2net_hf.U2NetForImageSegmentation.from_pretrained({str(output)!r})
        with torch.no_grad():
            same_logits = torch.equal(model(pixel_values).logits, local(pixel_values).logits)
        metrics = evaluate("org/trained", {str(held_out)!r}, progress=False)
        print("RESULT", json.dumps({{"code": code, "class": type(model).__name__, "same_logits": same_logits,
                                    "metrics": metrics}}))
    """
    with LocalHub(tmp_path / "hub", tokens={"hf_write": ("someone", ["org"], "write")}) as hub:
        process = run_with_hub_env(script, hub.endpoint, hf_home=tmp_path / "hf_home", token="hf_write", cwd=REPO_ROOT)
        assert process.returncode == 0, process.stderr[-3000:]
        files = hub.repo_files("org/trained")
    result = json.loads(process.stdout.split("RESULT ", 1)[1])
    assert result["code"] == 0 and result["class"] == "U2NetForImageSegmentation" and result["same_logits"]
    assert {"model.safetensors", "config.json", "preprocessor_config.json", "README.md"} <= set(files)
    assert not any(name.startswith("checkpoint") or name.endswith((".bin", ".pt", ".pth")) for name in files)
    reported = json.loads((output / "eval_results.json").read_text())
    assert result["metrics"] == pytest.approx(reported)
    card = (output / "README.md").read_text()
    assert "org/trained" in card and "max_fmeasure" in card
