"""The hostile-input battery (issue 19): broken and unsafe checkpoints, unknown model specs, files that are not
regular files or never end, hostile file names, arrays of odd dtypes and bad command-line arguments. Each case
asserts its exact outcome: one line naming the thing and the problem (no traceback), nothing guessed, nothing
written for a refused run, inputs untouched, and nothing that blocks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch
from safetensors.torch import load_file, save_file
from test_background import random_rgb, save_tiny_model, sha256

from u2net_hf.cli import main
from u2net_hf.images import load_image
from u2net_hf.pretrained import load_model
from u2net_hf.sessions import new_session

ROOT = Path(__file__).resolve().parents[1]


def checksums(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): sha256(path) for path in sorted(folder.rglob("*")) if path.is_file()}


def run_cli(*args: str, cwd: Path, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **kwargs.pop("env", {})}
    return subprocess.run(
        [sys.executable, "-m", "u2net_hf", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=timeout,
        **kwargs,
    )


def one_error_line(stderr: bytes | str) -> str:
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    assert "Traceback" not in text
    # The first run of a model without prebuilt ONNX files says that it exports it: not an error line.
    (line,) = [line for line in text.strip().splitlines() if not line.startswith("u2net-hf remove: Exporting ")]
    return line


# --- broken checkpoints ------------------------------------------------------------------------------------------

PWNED = "u2net-hf-hostile-pickle-ran"


class _Payload:
    """A pickle that runs a shell command when loaded: it must never run."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _break(folder: Path, kind: str, marker: Path) -> None:
    weights = folder / "model.safetensors"
    tensors = load_file(weights)
    names = sorted(tensors)
    if kind == "missing":
        save_file({k: v for k, v in tensors.items() if not k.startswith("fusion.")}, weights, {"format": "pt"})
    elif kind == "unexpected":
        save_file({**tensors, "extra.weight": torch.zeros(3)}, weights, {"format": "pt"})
    elif kind == "mis-shaped":
        save_file({**tensors, "fusion.weight": torch.zeros(1, 1, 1, 1)}, weights, {"format": "pt"})
    elif kind == "truncated":
        weights.write_bytes(weights.read_bytes()[:200])
    elif kind == "empty":
        weights.write_bytes(b"")
    elif kind == "pickle-with-code":
        weights.unlink()
        torch.save({names[0]: _Payload(marker)}, folder / "pytorch_model.bin")
    elif kind == "no-weights":
        weights.unlink()
    elif kind == "bad-config":
        (folder / "config.json").write_text("{not json")


# What each broken folder's one-line error must say.
BROKEN = {
    "missing": "2 missing (fusion.bias, fusion.weight)",
    "unexpected": "1 unexpected (extra.weight)",
    "mis-shaped": "1 mis-shaped, checkpoint vs model (fusion.weight",  # then "(1, 1, 1, 1) vs (1, 3, 1, 1))" on 5.x
    "truncated": "its model.safetensors is damaged or incomplete",
    "empty": "its model.safetensors is damaged or incomplete",
    "pickle-with-code": "its pytorch_model.bin is a pickle that runs code when loaded (it calls posix.system): refused",
    "no-weights": "cannot be loaded",
    "bad-config": "cannot be loaded",
}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hostile-models")
    good = save_tiny_model(root / "good")
    folders = {"good": good}
    for kind in BROKEN:
        folders[kind] = root / kind
        shutil.copytree(good, folders[kind])
        _break(folders[kind], kind, root / PWNED)
    return folders


@pytest.mark.parametrize("kind", sorted(BROKEN))
@pytest.mark.parametrize("loader", [load_model, new_session], ids=["load_model", "new_session"])
def test_a_broken_checkpoint_is_refused_in_one_line(models, kind, loader):
    folder = models[kind]
    before = checksums(folder.parent)
    with pytest.raises(ValueError) as error:
        loader(str(folder))
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"Model {str(folder)!r}") and BROKEN[kind] in message
    assert error.value.__cause__ is None or kind in ("no-weights", "bad-config")
    assert checksums(folder.parent) == before
    assert not (folder.parent / PWNED).exists()  # the pickle's code never ran


def test_a_partial_load_is_explicit(models):
    # Fine-tuning from another head: the caller asks for it, and gets the checkpoint's tensors where they match.
    model = load_model(str(models["missing"]), strict=False)
    good = load_model(str(models["good"]))
    torch.testing.assert_close(model.u2net.encoder[0].state_dict(), good.u2net.encoder[0].state_dict())


def test_folded_checkpoints_without_step_counters_still_load_strictly(models, tmp_path):
    folder = shutil.copytree(models["good"], tmp_path / "folded")
    tensors = load_file(folder / "model.safetensors")
    save_file({k: v for k, v in tensors.items() if "num_batches_tracked" not in k}, folder / "model.safetensors")
    assert load_model(str(folder)).training is False


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["missing", "mis-shaped", "truncated", "pickle-with-code"])
def test_the_cli_refuses_a_broken_checkpoint_before_writing(models, kind, tmp_path):
    PIL.Image.fromarray(random_rgb(20, 20)).save(tmp_path / "photo.png")
    result = run_cli("remove", "photo.png", "out.png", "-m", str(models[kind]), cwd=tmp_path)
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert line.startswith(f"u2net-hf remove: error: Model {str(models[kind])!r}") and BROKEN[kind] in line
    assert not (tmp_path / "out.png").exists()


def test_a_broken_onnx_file_is_refused_in_one_line(tmp_path):
    pytest.importorskip("onnxruntime")
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07garbage" * 10)
    with pytest.raises(ValueError, match=r"^onnxruntime cannot load .*model\.onnx: ") as error:
        new_session(str(tmp_path / "model.onnx"))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("kind", ["missing", "unexpected", "mis-shaped"])
def test_automodel_refuses_a_partial_checkpoint_unless_asked(models, kind):
    from transformers import AutoModelForImageSegmentation

    with pytest.raises(ValueError) as error:
        AutoModelForImageSegmentation.from_pretrained(str(models[kind]))
    assert "\n" not in str(error.value) and BROKEN[kind] in str(error.value)
    model, info = AutoModelForImageSegmentation.from_pretrained(
        str(models[kind]), strict=False, ignore_mismatched_sizes=True, output_loading_info=True
    )
    assert type(model).__name__ == "U2NetForImageSegmentation"
    assert any(info[f"{name}_keys"] for name in ("missing", "unexpected", "mismatched"))


# --- unknown model specs -----------------------------------------------------------------------------------------


def test_an_unknown_name_says_what_was_tried():
    with pytest.raises(ValueError) as error:
        load_model("no-such-model")
    assert str(error.value) == (
        "Model 'no-such-model' does not exist: it is not a bundled model (u2net-full, u2net-lite), no folder of "
        "that name exists, and it is not a Hub repo id (namespace/name)."
    )


def test_an_unknown_repo_id_offline_fails_fast_and_says_what_was_tried():
    started = time.monotonic()
    with pytest.raises(ValueError) as error:
        new_session("no-such-org/no-such-model")
    assert time.monotonic() - started < 2
    assert str(error.value) == (
        "Model 'no-such-org/no-such-model' cannot be loaded: it is not a bundled model (u2net-full, u2net-lite), no "
        "folder of that name exists, and as a Hub repo id: it is not in the local Hugging Face cache, and "
        "HF_HUB_OFFLINE is set."
    )


def test_an_unknown_repo_id_with_no_hub_answering_fails_fast(tmp_path):
    # Online, but nothing listens at the endpoint: huggingface_hub alone would retry for half a minute.
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    code = (
        "import time\nimport u2net_hf.modeling_u2net\nfrom u2net_hf.pretrained import load_model\n"
        "started = time.monotonic()\n"
        "try:\n    load_model('no-such-org/no-such-model')\nexcept ValueError as error:\n"
        "    print(round(time.monotonic() - started, 2), error)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "0", "HF_ENDPOINT": f"http://127.0.0.1:{port}", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    seconds, message = result.stdout.strip().split(" ", 1)
    assert float(seconds) < 2, result.stdout
    assert message.endswith(
        f"as a Hub repo id: it is not in the local Hugging Face cache, and the Hub at http://127.0.0.1:{port} did "
        "not answer in 2 s."
    )


@pytest.mark.slow
def test_the_cli_names_an_unknown_model(tmp_path):
    PIL.Image.fromarray(random_rgb(20, 20)).save(tmp_path / "photo.png")
    result = run_cli("remove", "photo.png", "-m", "no-such-model", cwd=tmp_path)
    assert result.returncode == 1
    assert one_error_line(result.stderr).startswith("u2net-hf remove: error: Model 'no-such-model' does not exist: ")
    assert sorted(os.listdir(tmp_path)) == ["photo.png"]


# --- files that are not regular files, or never end --------------------------------------------------------------


def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(ValueError) as error:
        load_image(tmp_path / "pipe.png")  # would wait for a writer forever if it were opened plainly
    assert str(error.value) == (
        f"{tmp_path / 'pipe.png'}: is a FIFO (named pipe), not a regular file; refused without reading it."
    )


def test_dev_zero_is_refused_without_reading():
    with pytest.raises(ValueError, match=r"^/dev/zero: is a character device, not a regular file; refused"):
        load_image("/dev/zero")


def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "s.png"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(ValueError, match=r": is a socket, not a regular file"):
            load_image(path)


def test_a_file_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    PIL.Image.fromarray(random_rgb(64, 64)).save(path)
    monkeypatch.setenv("U2NET_HF_MAX_INPUT_BYTES", "1000")
    size = path.stat().st_size
    with pytest.raises(ValueError) as error:
        load_image(path)
    assert str(error.value) == (
        f"{path}: too large for an image input ({size:,} bytes; the limit is 1,000); raise U2NET_HF_MAX_INPUT_BYTES "
        "for larger files."
    )
    monkeypatch.setenv("U2NET_HF_MAX_INPUT_BYTES", str(size))
    assert load_image(path).size == (64, 64)  # at the limit is fine


def test_a_bad_size_limit_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("U2NET_HF_MAX_INPUT_BYTES", "lots")
    with pytest.raises(ValueError, match=r"^U2NET_HF_MAX_INPUT_BYTES must be a positive number of bytes, got 'lots'"):
        load_image(tmp_path / "any.png")


def test_an_endless_stream_stops_at_the_limit():
    from u2net_hf.images import read_limited  # new with the size limit: imported here so the file runs on old trees

    too_large = r"^<stdin>: too large for an image input \(more than 4,096 bytes"
    with open("/dev/zero", "rb") as endless, pytest.raises(ValueError, match=too_large):
        read_limited(endless, "<stdin>", limit=4096)


@pytest.mark.slow
def test_the_cli_stops_an_endless_stdin(models, tmp_path):
    with open("/dev/zero", "rb") as endless:
        result = run_cli(
            "remove", "-", "out.png", "-m", str(models["good"]), cwd=tmp_path, stdin=endless,
            env={"U2NET_HF_MAX_INPUT_BYTES": "10000000"},
        )  # fmt: skip
    assert result.returncode == 1
    assert one_error_line(result.stderr) == (
        "u2net-hf remove: error: <stdin>: too large for an image input (more than 10,000,000 bytes; the limit is "
        "10,000,000); raise U2NET_HF_MAX_INPUT_BYTES for larger files."
    )
    assert not (tmp_path / "out.png").exists()


@pytest.mark.slow
def test_the_cli_refuses_dev_zero_as_input(models, tmp_path):
    result = run_cli("remove", "/dev/zero", "out.png", "-m", str(models["good"]), cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    assert one_error_line(result.stderr).startswith("u2net-hf remove: error: /dev/zero: is a character device")


@pytest.mark.slow
def test_a_fifo_in_a_folder_is_skipped_and_the_good_files_are_written(models, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    for name in ("a.png", "b.png"):
        PIL.Image.fromarray(random_rgb(20, 20)).save(source / name)
    os.mkfifo(source / "pipe.png")
    result = run_cli("remove", "in", "out", "-m", str(models["good"]), cwd=tmp_path, timeout=120)
    assert result.returncode == 0
    assert result.stderr.decode().strip().splitlines() == [
        "u2net-hf remove: 2 done, 0 skipped, 0 failed (of 2 images in in; outputs in out)",
        "  skipped in/pipe.png: not a regular file (a FIFO, socket, device or broken link); not read",
    ]
    assert sorted(os.listdir(tmp_path / "out")) == ["a.png", "b.png"]


# --- what interrupted runs leave, and hostile names --------------------------------------------------------------


def test_a_single_file_run_removes_its_own_stale_temporaries(models, tmp_path, capsys):
    PIL.Image.fromarray(random_rgb(20, 20)).save(tmp_path / "photo.png")
    stale = tmp_path / ".out.png.0123abcd.tmp"
    others = [tmp_path / ".out.png.notahex!.tmp", tmp_path / ".other.png.0123abcd.tmp", tmp_path / ".out.png1.tmp"]
    for path in [stale, *others]:
        path.write_bytes(b"partial")
    arguments = [str(tmp_path / "photo.png"), str(tmp_path / "out.png"), "-m", str(models["good"]), "-q"]
    assert main(["remove", *arguments]) == 0
    assert not stale.exists() and all(path.exists() for path in others)
    assert PIL.Image.open(tmp_path / "out.png").mode == "RGBA"


@pytest.mark.parametrize("character", ["\n", "\r", "\x1b", "\t"], ids=["newline", "return", "escape", "tab"])
def test_a_control_character_in_a_name_is_shown_escaped_on_one_line(models, tmp_path, capsys, character):
    source = tmp_path / "in"
    source.mkdir()
    PIL.Image.fromarray(random_rgb(20, 20)).save(source / "good.png")
    (source / f"bad{character}name.png").write_bytes(b"not an image")
    assert main(["remove", str(source), str(tmp_path / "out"), "-m", str(models["good"]), "-q"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    escaped = repr(character)[1:-1]
    assert lines[1] == (
        f"  failed {source}/bad{escaped}name.png: not an image file Pillow can read (unknown format)."
    ), lines
    assert len(lines) == 2


# --- arrays of dtypes that are not images ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "array",
    [
        np.array([[object(), object()]], dtype=object),
        np.zeros((4, 4, 3), dtype=np.complex64),
        np.zeros((4, 4), dtype=np.complex128),
        np.full((4, 4), "a", dtype="<U1"),
        np.zeros((4, 4), dtype="datetime64[s]"),
    ],
    ids=["object", "complex64", "complex128", "str", "datetime"],
)
def test_an_array_of_an_unsupported_dtype_is_refused_with_the_accepted_ones(array):
    with pytest.raises(ValueError) as error:
        load_image(array)
    assert str(error.value) == (
        f"image: an array of dtype {array.dtype} is not an image; give bool, unsigned integers, integers, floats "
        "(uint8, uint16, bool or float in [0, 1])."
    )


# --- command-line arguments --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["x.png", "-t", "1.5"], "argument -t/--threshold: expected a number between 0 and 1, got 1.5"),
        (["x.png", "-b", "0"], "argument -b/--batch-size: expected a positive integer, got 0"),
        (["x.png", "-b", "many"], "argument -b/--batch-size: expected a positive integer, got 'many'"),
        (["x.png", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
        ([], "the following arguments are required: INPUT"),
        (["x.png", "--backend", "tpu"], "argument --backend: invalid choice: 'tpu'"),
    ],
    ids=["threshold", "batch-size", "batch-size-word", "unknown-flag", "no-input", "backend"],
)
def test_bad_arguments_exit_1_with_one_line(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["remove", *flags])
    assert exit_info.value.code == 1
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"u2net-hf remove: error: {message}") and line.endswith("(see u2net-hf remove --help)")
