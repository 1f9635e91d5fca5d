"""Tests of `u2net-hf remove`. Most call `u2net_hf.cli.main` in-process with a tiny random model saved to a
folder; a few run `python -m u2net_hf` in a subprocess to see the real exit status and that no traceback
escapes; the real-photo tests use the bundled u2net-lite."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
from test_background import (
    HOSTILE_FILES,
    assert_colour_is_the_input_where_visible,
    decompression_bomb_png,
    encode,
    exif_rotated_jpeg,
    odd_images,
    random_rgb,
    save_tiny_model,
    sha256,
)

from u2net_hf.background import remove_background
from u2net_hf.cli import main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> str:
    return str(save_tiny_model(tmp_path_factory.mktemp("tiny-u2net")))


def write_photo(path: Path, height: int = 30, width: int = 40, seed: int = 0, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    PIL.Image.fromarray(random_rgb(height, width, seed)).save(path, format=fmt)
    return path


def remove(model_dir: str, *args: str) -> int:
    return main(["remove", *args, "-m", model_dir])


# The first run of a model without prebuilt ONNX files exports it, and says so (tested on its own below).
EXPORT_ANNOUNCEMENT = "u2net-hf remove: Exporting "


def error_lines(capsys) -> list[str]:
    lines = capsys.readouterr().err.strip().splitlines()
    return [line for line in lines if not line.startswith(EXPORT_ANNOUNCEMENT)]


def checksums(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): sha256(path) for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_file_gives_an_rgba_png_next_to_it(model_dir, tmp_path, capsys):
    source = write_photo(tmp_path / "photo.jpg", 30, 40)
    assert remove(model_dir, str(source)) == 0
    output = tmp_path / "photo_nobg.png"
    assert error_lines(capsys) == [f"u2net-hf remove: wrote {output}"]
    with PIL.Image.open(output) as image:
        assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (40, 30))
        np.testing.assert_array_equal(np.asarray(image), np.asarray(remove_background(source, model=model_dir)))


@pytest.mark.parametrize(
    ("flags", "options"),
    [
        (["-om"], {"mask_only": True}),
        (["--only-mask", "-t", "0.5"], {"mask_only": True, "threshold": 0.5}),
        (["-bgc", "255", "0", "0"], {"bg_color": (255, 0, 0)}),
        (["-bgc", "0", "0", "255", "128"], {"bg_color": (0, 0, 255, 128)}),
        (["--bg-color", "#00ff00"], {"bg_color": "#00ff00"}),
        (["-t", "0.4", "-b", "1", "--device", "cpu"], {"threshold": 0.4}),
        (["--backend", "onnxruntime"], {"backend": "onnxruntime"}),
        (["--int8", "-om", "--device", "cpu"], {"int8": True, "mask_only": True}),
    ],
)
def test_flags_give_what_the_library_gives(model_dir, tmp_path, flags, options):
    source = write_photo(tmp_path / "photo.png", 30, 40)
    output = tmp_path / "out.png"
    assert remove(model_dir, str(source), str(output), *flags) == 0
    expected = remove_background(source, model=model_dir, **options)
    with PIL.Image.open(output) as image:
        assert image.mode == expected.mode
        np.testing.assert_array_equal(np.asarray(image), np.asarray(expected))


def test_the_onnxruntime_backend_exports_once_and_says_so(model_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("U2NET_HF_CACHE", str(tmp_path / "cache"))
    source = write_photo(tmp_path / "photo.png", 30, 40)
    assert remove(model_dir, str(source), str(tmp_path / "first.png"), "--backend", "onnxruntime") == 0
    exported = list((tmp_path / "cache" / "onnx").glob("*.onnx"))
    first, wrote = capsys.readouterr().err.strip().splitlines()
    assert (
        len(exported) == 1
        and first == f"u2net-hf remove: Exporting {Path(model_dir).name} to {exported[0]} (once; later runs reuse it)."
    )
    assert wrote == f"u2net-hf remove: wrote {tmp_path / 'first.png'}"
    assert remove(model_dir, str(source), str(tmp_path / "again.png"), "--backend", "onnxruntime") == 0
    assert error_lines(capsys) == [f"u2net-hf remove: wrote {tmp_path / 'again.png'}"]
    assert list((tmp_path / "cache" / "onnx").glob("*.onnx")) == exported
    assert sha256(tmp_path / "first.png") == sha256(tmp_path / "again.png")


def test_mask_only_default_name(model_dir, tmp_path):
    source = write_photo(tmp_path / "photo.jpg")
    assert remove(model_dir, str(source), "-om", "-q") == 0
    assert PIL.Image.open(tmp_path / "photo_mask.png").mode == "L"


def test_a_folder_is_walked_recursively_into_a_mirrored_tree(model_dir, tmp_path, capsys):
    source = tmp_path / "photos"
    write_photo(source / "a.jpg", seed=1)
    write_photo(source / "trip" / "day1" / "b.webp", 20, 25, seed=2, fmt="WEBP")
    write_photo(source / "trip" / "c.png", seed=3)
    write_photo(source / "trip" / "c.jpg", seed=4)  # same stem as c.png: both keep their extension
    write_photo(source / ".hidden" / "d.png", seed=5)
    write_photo(source / ".e.png", seed=6)
    (source / "notes.txt").write_text("not an image")
    before = checksums(source)

    assert remove(model_dir, str(source), "-b", "3") == 0
    output = tmp_path / "photos_nobg"
    assert sorted(str(path.relative_to(output)) for path in output.rglob("*") if path.is_file()) == [
        "a.png",
        "trip/c.jpg.png",
        "trip/c.png.png",
        "trip/day1/b.png",
    ]
    assert PIL.Image.open(output / "trip" / "day1" / "b.png").size == (25, 20)
    lines = error_lines(capsys)
    assert lines[0].startswith("u2net-hf remove: 4 done, 0 skipped, 0 failed")
    assert lines[1:] == ["  ignored 1 file(s) whose extension is not an image format"]
    assert checksums(source) == before


def test_existing_outputs_are_kept_unless_overwrite(model_dir, tmp_path, capsys):
    source = tmp_path / "in"
    write_photo(source / "a.png", seed=1)
    write_photo(source / "b.png", seed=2)
    output = tmp_path / "out"
    output.mkdir()
    (output / "a.png").write_bytes(b"keep me")

    assert remove(model_dir, str(source), str(output)) == 0
    assert (output / "a.png").read_bytes() == b"keep me"
    assert PIL.Image.open(output / "b.png").mode == "RGBA"
    lines = error_lines(capsys)
    assert lines[0].startswith("u2net-hf remove: 1 done, 1 skipped, 0 failed")
    assert "skipped 1: output already exists (pass --overwrite to replace)" in lines[1]

    assert remove(model_dir, str(source / "a.png"), str(output / "a.png")) == 0
    assert (output / "a.png").read_bytes() == b"keep me"
    assert "already exists (pass --overwrite to replace it)" in error_lines(capsys)[0]

    assert remove(model_dir, str(source), str(output), "--overwrite") == 0
    assert PIL.Image.open(output / "a.png").mode == "RGBA"


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_a_hostile_file_fails_with_one_line_naming_it(model_dir, tmp_path, capsys, case):
    name, content, words = HOSTILE_FILES[case]
    source = tmp_path / name
    source.write_bytes(content)
    assert remove(model_dir, str(source), str(tmp_path / "out.png")) == 1
    (line,) = error_lines(capsys)
    assert line.startswith(f"u2net-hf remove: error: {source}: ") and words in line
    assert not (tmp_path / "out.png").exists()


def test_a_folder_run_keeps_going_past_hostile_files(model_dir, tmp_path, capsys):
    source = tmp_path / "in"
    for index in range(3):
        write_photo(source / f"good{index}.png", seed=index)
    for name, content, _ in HOSTILE_FILES.values():
        (source / "bad" / name).parent.mkdir(parents=True, exist_ok=True)
        (source / "bad" / name).write_bytes(content)
    before = checksums(source)

    assert remove(model_dir, str(source), str(tmp_path / "out"), "-b", "2") == 1
    lines = error_lines(capsys)
    total = 3 + len(HOSTILE_FILES)
    assert lines[0].startswith(f"u2net-hf remove: 3 done, 0 skipped, {len(HOSTILE_FILES)} failed (of {total} images")
    failed = lines[1:]
    assert len(failed) == len(HOSTILE_FILES)
    for name, _, words in HOSTILE_FILES.values():
        (line,) = [line for line in failed if line.startswith(f"  failed {source / 'bad' / name}: ")]
        assert words in line
    assert sorted(path.name for path in (tmp_path / "out").rglob("*.png")) == ["good0.png", "good1.png", "good2.png"]
    assert checksums(source) == before


def twenty_photos_three_bad(source: Path) -> dict[str, str]:
    """20 files in `source` (mixed sizes, one level of sub-folders), 3 of them not images; returns the bad ones'
    paths with the words their error must contain."""
    for index in range(17):
        write_photo(
            source / ("sub" if index % 4 == 0 else ".") / f"photo{index:02d}.png",
            20 + index,
            30 + 2 * index,
            seed=index,
        )
    bad = {"empty.png": b"", "notes.jpg": b"not a picture\n", "cut.jpg": HOSTILE_FILES["truncated-jpeg"][1]}
    for name, content in bad.items():
        (source / name).write_bytes(content)
    return {
        str(source / "empty.png"): "empty",
        str(source / "notes.jpg"): "not an image",
        str(source / "cut.jpg"): "truncated",
    }


def test_a_folder_run_with_3_bad_files_among_20_writes_the_17_and_reports_the_3(model_dir, tmp_path, capsys):
    source, output = tmp_path / "in", tmp_path / "out"
    bad = twenty_photos_three_bad(source)
    assert remove(model_dir, str(source), str(output), "-b", "4") == 1
    lines = error_lines(capsys)
    assert lines[0] == f"u2net-hf remove: 17 done, 0 skipped, 3 failed (of 20 images in {source}; outputs in {output})"
    failed = lines[1:]
    assert len(failed) == 3
    for path, words in bad.items():
        (line,) = [line for line in failed if line.startswith(f"  failed {path}: ")]
        assert words in line
    written = sorted(str(path.relative_to(output)) for path in output.rglob("*") if path.is_file())
    assert len(written) == 17 and all(name.endswith(".png") for name in written)
    for path in output.rglob("*.png"):
        origin = source / path.relative_to(output)
        np.testing.assert_array_equal(
            np.asarray(PIL.Image.open(path)), np.asarray(remove_background(origin, model=model_dir))
        )


def test_a_folder_run_killed_midway_leaves_no_partial_file_and_the_rerun_finishes(model_dir, tmp_path):
    import signal
    import time

    source, output = tmp_path / "in", tmp_path / "out"
    twenty_photos_three_bad(source)
    command = [sys.executable, "-m", "u2net_hf", "remove", str(source), str(output), "-m", model_dir, "-b", "1", "-q"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, start_new_session=True) as process:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(output.rglob("*.png"))) < 3:
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL
    written = list(output.rglob("*.png"))
    assert 3 <= len(written) < 17, "the run was not killed midway"
    for path in written:  # every output there is complete
        with PIL.Image.open(path) as image:
            image.load()

    rerun = subprocess.run(command[:-1], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 1  # the 3 bad files
    assert f"{17 - len(written)} done, {len(written)} skipped, 3 failed" in rerun.stderr
    files = sorted(path for path in output.rglob("*") if path.is_file())
    assert len(files) == 17 and all(path.suffix == ".png" for path in files)  # no temporary left behind either


def test_temporaries_of_an_interrupted_run_are_removed_by_the_next_run(model_dir, tmp_path, capsys):
    source, output = tmp_path / "in", tmp_path / "out"
    write_photo(source / "a.png")
    (output / "sub").mkdir(parents=True)
    stale = [output / ".a.png.0123abcd.tmp", output / "sub" / ".b.png.deadbeef.tmp"]
    for path in stale:
        path.write_bytes(b"half a png")
    mine = [output / "notes.tmp", output / ".a.png.not-hex.tmp", output / "sub" / "keep.png"]
    for path in mine:
        path.write_bytes(b"not ours")
    assert remove(model_dir, str(source), str(output), "-q") == 0
    assert not any(path.exists() for path in stale)
    assert all(path.read_bytes() == b"not ours" for path in mine)


def test_an_image_failing_inside_a_batch_does_not_take_the_batch_down(model_dir, tmp_path, monkeypatch, capsys):
    import u2net_hf.sessions as sessions

    source = tmp_path / "in"
    write_photo(source / "a.png", 30, 40, seed=1)
    write_photo(source / "b.png", 13, 17, seed=2)
    write_photo(source / "c.png", 30, 40, seed=3)
    original_compose = sessions.compose

    def compose_failing_on_b(rgb, probability, options, **kwargs):
        if rgb.shape[:2] == (13, 17):
            raise RuntimeError("cannot composite this one")
        return original_compose(rgb, probability, options, **kwargs)

    monkeypatch.setattr(sessions, "compose", compose_failing_on_b)
    assert remove(model_dir, str(source), str(tmp_path / "out"), "-b", "3") == 1
    lines = error_lines(capsys)
    assert lines[0].startswith("u2net-hf remove: 2 done, 0 skipped, 1 failed")
    assert lines[1:] == [f"  failed {source / 'b.png'}: cannot composite this one"]
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["a.png", "c.png"]


def test_pytorch_on_the_cpu_follows_the_thread_policy(model_dir, tmp_path, monkeypatch):
    import torch

    from u2net_hf.modeling_u2net import U2NetForImageSegmentation

    monkeypatch.setenv("U2NET_HF_NUM_THREADS", "2")  # the override of default_num_threads("torch")
    source = write_photo(tmp_path / "photo.png")
    seen = []
    original_forward = U2NetForImageSegmentation.forward

    def recording_forward(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return original_forward(self, *args, **kwargs)

    monkeypatch.setattr(U2NetForImageSegmentation, "forward", recording_forward)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert remove(model_dir, str(source), str(tmp_path / "out.png"), "-q", "--backend", "torch") == 0
        assert seen == [2]  # the model ran with the policy's threads
        assert torch.get_num_threads() == 1  # and the process's own setting is back
    finally:
        torch.set_num_threads(previous)


def test_pngs_are_written_with_the_run_length_strategy_unless_a_level_is_given(model_dir, tmp_path):
    source = write_photo(tmp_path / "photo.png", 120, 160)
    assert remove(model_dir, str(source), str(tmp_path / "default.png"), "-q") == 0
    assert remove(model_dir, str(source), str(tmp_path / "level6.png"), "--compress-level", "6", "-q") == 0
    cutout = remove_background(source, model=model_dir)
    assert (tmp_path / "default.png").read_bytes() == encode(cutout, compress_type=zlib.Z_RLE)
    assert (tmp_path / "level6.png").read_bytes() == encode(cutout, compress_level=6)


def test_compress_level_trades_size_for_speed_without_changing_pixels(model_dir, tmp_path):
    source = write_photo(tmp_path / "photo.png", 120, 160)
    assert remove(model_dir, str(source), str(tmp_path / "fast.png"), "--compress-level", "0", "-q") == 0
    assert remove(model_dir, str(source), str(tmp_path / "small.png"), "--compress-level", "9", "-q") == 0
    assert (tmp_path / "fast.png").stat().st_size > (tmp_path / "small.png").stat().st_size
    np.testing.assert_array_equal(
        np.asarray(PIL.Image.open(tmp_path / "fast.png")), np.asarray(PIL.Image.open(tmp_path / "small.png"))
    )


@pytest.mark.parametrize("case", sorted(odd_images()))
def test_odd_but_valid_files_are_processed(model_dir, tmp_path, case):
    content, expected_rgb, _ = odd_images()[case]
    source = tmp_path / f"odd.{'gif' if 'gif' in case else 'jpg' if 'jpeg' in case else 'png'}"
    source.write_bytes(content)
    output = tmp_path / "out.png"
    assert remove(model_dir, str(source), str(output), "-q") == 0
    with PIL.Image.open(output) as image:
        assert image.size == (expected_rgb.shape[1], expected_rgb.shape[0])
        assert_colour_is_the_input_where_visible(np.asarray(image), expected_rgb)


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda d: [str(d / "missing.jpg")], "missing.jpg: no such file or folder"),
        (lambda d: [str(d / "photo.png"), str(d / "photo.png")], "OUTPUT is INPUT"),
        (lambda d: [str(d / "photo.png"), str(d / ".." / d.name / "photo.png")], "OUTPUT is INPUT"),
        (lambda d: [str(d), str(d)], "OUTPUT is INPUT"),
        (lambda d: [str(d), str(d / "inside")], "is inside INPUT"),
        (lambda d: [str(d / "photo.png"), str(d / "folder")], "is a folder, but INPUT"),
        (lambda d: [str(d), str(d / "photo.png")], "OUTPUT must be a folder too"),
        (lambda d: [str(d / "photo.png"), str(d / "out.jpg")], "JPEG cannot store transparency"),
        (lambda d: [str(d / "photo.png"), str(d / "out.xyz")], "unknown output format"),
        (lambda d: [str(d / "photo.png"), "-a", "-t", "0.5"], "alpha_matting and threshold cannot be combined"),
        (lambda d: [str(d / "photo.png"), "-om", "-bgc", "1", "2", "3"], "cannot be combined"),
        (lambda d: [str(d / "photo.png"), "-bgc", "1", "2"], "3 or 4 integers"),
        (lambda d: [str(d / "photo.png"), "-bgc", "red", "x", "y"], "--bg-color takes R G B"),
        (lambda d: [str(d / "photo.png"), "--device", "tpu9"], "Unknown device"),
        (lambda d: [str(d / "photo.png"), "--backend", "torch", "--int8"], "int8 runs on the onnxruntime backend"),
        (lambda d: [str(d / "photo.png"), "--backend", "onnxruntime", "--device", "mps"], "'cpu' or 'cuda'"),
    ],
)
def test_bad_arguments_fail_with_one_line(model_dir, tmp_path, capsys, make_args, message):
    write_photo(tmp_path / "photo.png")
    (tmp_path / "folder").mkdir()
    before = checksums(tmp_path)
    assert remove(model_dir, *make_args(tmp_path)) == 1
    (line,) = error_lines(capsys)
    assert line.startswith("u2net-hf remove: error: ") and message in line
    assert checksums(tmp_path) == before


def test_argparse_rejects_bad_numbers(model_dir, tmp_path, capsys):
    # Exit 1 and one line, like every other error (not argparse's usage text and exit 2).
    for flags in (["-t", "2"], ["-b", "0"], ["-t", "half"], ["-t", "1.5"]):
        with pytest.raises(SystemExit) as exit_info:
            remove(model_dir, "photo.png", *flags)
        assert exit_info.value.code == 1
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith("u2net-hf remove: error: argument ") and "expected" in line


def test_jpeg_output_works_on_an_opaque_background(model_dir, tmp_path):
    source = write_photo(tmp_path / "photo.png")
    assert remove(model_dir, str(source), str(tmp_path / "flat.jpg"), "-bgc", "255", "255", "255", "-q") == 0
    assert PIL.Image.open(tmp_path / "flat.jpg").format == "JPEG"


def test_an_unwritable_output_location_is_reported(model_dir, tmp_path, capsys):
    source = write_photo(tmp_path / "in" / "photo.png")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    assert remove(model_dir, str(source), str(blocker / "out.png")) == 1
    (line,) = error_lines(capsys)
    assert line.startswith(f"u2net-hf remove: error: {source}: {blocker / 'out.png'}: cannot write it")

    # In a folder run, the image whose output cannot be written fails; the others are done.
    write_photo(tmp_path / "in" / "sub" / "other.png")
    output = tmp_path / "out"
    output.mkdir()
    (output / "sub").write_text("a file where the sub folder should go")
    assert remove(model_dir, str(tmp_path / "in"), str(output)) == 1
    lines = error_lines(capsys)
    assert lines[0].startswith("u2net-hf remove: 1 done, 0 skipped, 1 failed")
    assert lines[1].startswith(f"  failed {tmp_path / 'in' / 'sub' / 'other.png'}: ") and "cannot write it" in lines[1]


def test_an_interrupted_write_leaves_no_partial_file(model_dir, tmp_path, monkeypatch, capsys):
    source = write_photo(tmp_path / "photo.png")
    output = tmp_path / "out.png"
    output.write_bytes(b"previous result")
    original_save = PIL.Image.Image.save

    def save_half_then_interrupt(self, fp, *args, **kwargs):
        buffer = io.BytesIO()
        original_save(self, buffer, *args, **kwargs)
        fp.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(PIL.Image.Image, "save", save_half_then_interrupt)
    assert remove(model_dir, str(source), str(output), "--overwrite") == 130
    assert "interrupted" in capsys.readouterr().err
    assert output.read_bytes() == b"previous result"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.png", "photo.png"]  # no temporary file


def test_stdin_to_stdout(model_dir, tmp_path, monkeypatch, capsysbinary):
    source = write_photo(tmp_path / "photo.jpg", 30, 40)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(source.read_bytes())))
    assert remove(model_dir, "-") == 0
    captured = capsysbinary.readouterr()
    assert captured.err == b""
    result = PIL.Image.open(io.BytesIO(captured.out))
    np.testing.assert_array_equal(np.asarray(result), np.asarray(remove_background(source, model=model_dir)))


def test_garbage_on_stdin_is_one_error_line(model_dir, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"no image here")))
    assert remove(model_dir, "-") == 1
    assert error_lines(capsys) == [
        "u2net-hf remove: error: <stdin>: not an image file Pillow can read (unknown format)."
    ]


def test_an_exif_rotated_jpeg_keeps_its_displayed_orientation(model_dir, tmp_path):
    source = tmp_path / "rotated.jpg"
    source.write_bytes(exif_rotated_jpeg(width=40, height=24, orientation=6))
    assert remove(model_dir, str(source), str(tmp_path / "out.png"), "-q") == 0
    assert PIL.Image.open(tmp_path / "out.png").size == (24, 40)


def test_help_reads_well(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["remove", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("-m MODEL", "-om", "-bgc", "-t P", "-b N", "--device", "--overwrite", "-a, --alpha-matting", "-dc"):
        assert flag in text
    assert "examples:" in text


def _rss_bytes() -> int:
    try:
        import psutil
    except ImportError:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return psutil.Process().memory_info().rss


@pytest.mark.slow
def test_memory_stays_flat_over_a_long_folder_run(model_dir, tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.importorskip("psutil")
    source = tmp_path / "in"
    for index in range(50):
        write_photo(source / f"{index:02d}.png", 192, 256, seed=index)
    output = str(tmp_path / "out")
    assert remove(model_dir, str(source), output, "-q") == 0
    after_50 = _rss_bytes()
    for _ in range(9):
        assert remove(model_dir, str(source), output, "-q", "--overwrite") == 0
    after_500 = _rss_bytes()
    # A leak of the 192x256 cut-outs alone would add ~90 MiB over the 450 extra images.
    assert after_500 <= after_50 * 1.05, f"RSS grew from {after_50 / 2**20:.0f} to {after_500 / 2**20:.0f} MiB"


# --- subprocess runs: the real exit status, and no traceback on stderr -------------------------------------------


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "u2net_hf", "remove", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.mark.slow
def test_subprocess_folder_of_hostile_files(model_dir, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    for name, content, _ in HOSTILE_FILES.values():
        (source / name).write_bytes(content)
    write_photo(source / "good.png")
    result = run_cli(str(source), str(tmp_path / "out"), "-m", model_dir, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"u2net-hf remove: 1 done, 0 skipped, {len(HOSTILE_FILES)} failed")
    assert len([line for line in lines if line.startswith("  failed ")]) == len(HOSTILE_FILES)


@pytest.mark.slow
def test_subprocess_decompression_bomb(model_dir, tmp_path):
    (tmp_path / "bomb.png").write_bytes(decompression_bomb_png())
    result = run_cli("bomb.png", "out.png", "-m", model_dir, cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("u2net-hf remove: error: bomb.png: refused as a possible decompression bomb")
    assert not (tmp_path / "out.png").exists()


# --- the bundled model on real photos ------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_photos_cli_mask_equals_library_mask_and_cutout_alpha(real_photos, tmp_path):
    source = tmp_path / "photos"
    source.mkdir()
    for name, array in real_photos.items():
        PIL.Image.fromarray(array).save(source / f"{name}.png")
    (source / "rotated.jpg").write_bytes(encode(PIL.Image.fromarray(real_photos["chelsea"]), "JPEG", exif=_exif(6)))

    # Batches of one: the library call below runs one image at a time, and batching may move a few values by 1.
    assert main(["remove", str(source), str(tmp_path / "masks"), "-om", "-b", "1", "-q"]) == 0
    assert main(["remove", str(source), str(tmp_path / "cutouts"), "-b", "1", "-q"]) == 0
    for path in sorted(source.iterdir()):
        expected = np.asarray(remove_background(path, mask_only=True))
        mask = np.asarray(PIL.Image.open(tmp_path / "masks" / f"{path.stem}.png"))
        cutout = PIL.Image.open(tmp_path / "cutouts" / f"{path.stem}.png")
        np.testing.assert_array_equal(mask, expected)
        np.testing.assert_array_equal(np.asarray(cutout)[..., 3], mask)
        if path.stem in real_photos:
            height, width = real_photos[path.stem].shape[:2]
            assert cutout.size == (width, height)
            assert_colour_is_the_input_where_visible(np.asarray(cutout), real_photos[path.stem])
            # A real model finds a subject: both clear foreground and clear background.
            assert 0.05 < (mask > 127).mean() < 0.95
    height, width = real_photos["chelsea"].shape[:2]
    assert PIL.Image.open(tmp_path / "cutouts" / "rotated.png").size == (height, width)


def _exif(orientation: int) -> PIL.Image.Exif:
    exif = PIL.Image.Exif()
    exif[0x0112] = orientation
    return exif


# --- rembg's spellings -------------------------------------------------------------------------------------------


def test_rembg_i_is_remove_on_a_file(model_dir, tmp_path):
    source = write_photo(tmp_path / "photo.png")
    assert main(["i", str(source), str(tmp_path / "via-i.png"), "-m", model_dir, "-q"]) == 0
    assert main(["remove", str(source), str(tmp_path / "via-remove.png"), "-m", model_dir, "-q"]) == 0
    assert sha256(tmp_path / "via-i.png") == sha256(tmp_path / "via-remove.png")


def test_rembg_p_is_remove_on_a_folder(model_dir, tmp_path):
    write_photo(tmp_path / "in" / "a.png")
    write_photo(tmp_path / "in" / "sub" / "b.jpg", seed=1)
    assert main(["p", str(tmp_path / "in"), str(tmp_path / "out"), "-m", model_dir, "-q"]) == 0
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.png")) == [
        "a.png",
        "sub/b.png",
    ]


def test_rembg_bgcolor_is_bg_color(model_dir, tmp_path):
    source = write_photo(tmp_path / "photo.png")
    assert remove(model_dir, str(source), str(tmp_path / "a.png"), "--bgcolor", "0", "0", "255", "255", "-q") == 0
    assert remove(model_dir, str(source), str(tmp_path / "b.png"), "--bg-color", "0", "0", "255", "255", "-q") == 0
    assert sha256(tmp_path / "a.png") == sha256(tmp_path / "b.png")
    assert np.asarray(PIL.Image.open(tmp_path / "a.png"))[..., 3].min() == 255  # flattened onto opaque blue


def test_an_alias_reports_errors_as_remove(model_dir, tmp_path, capsys):
    assert main(["i", str(tmp_path / "missing.png"), "-m", model_dir]) == 1
    assert error_lines(capsys) == [f"u2net-hf remove: error: {tmp_path / 'missing.png'}: no such file or folder."]


# --- --help and argument errors stay light -----------------------------------------------------------------------

_IMPORTS_AFTER = """
import sys
import u2net_hf
before = set(sys.modules)
from u2net_hf.cli import main
for argv in (["remove", "--help"], ["remove", "x.png", "-t", "1.5"], ["i", "--help"]):
    try:
        main(argv)
    except SystemExit:
        pass
print("ADDED", " ".join(sorted(set(sys.modules) - before)))
"""


def test_help_and_argument_errors_import_no_model_code():
    # What the CLI itself adds to `import u2net_hf`: no sessions, no ONNX, no weights reading.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run([sys.executable, "-c", _IMPORTS_AFTER], env=env, capture_output=True, text=True)
    added = result.stdout.split("ADDED", 1)[1].split()
    heavy = [name for name in added if name.split(".")[0] in ("onnxruntime", "onnx", "tqdm", "datasets")]
    ours = [name for name in added if name.startswith("u2net_hf.")]
    assert heavy == [] and ours == ["u2net_hf.cli", "u2net_hf.cli.remove"], added
