"""Tests of `u2net_hf.frames` and of `u2net-hf remove - ... --raw-frames WxH` / `u2net-hf b W H`: raw RGB24 frames in,
numbered PNGs or raw frames out, each equal to `Session.remove` on that frame. The model is a tiny random U2-Net
whose fused logits are scaled up so that its masks span the whole 0-255 range (a near-constant mask would make
every comparison pass)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

from u2net_hf.cli import main
from u2net_hf.frames import check_frame_pattern, parse_frame_size, raw_pixel_format, remove_raw_frames

WIDTH, HEIGHT = 40, 30
REPO_ROOT = Path(__file__).resolve().parents[1]


def random_frames(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, HEIGHT, WIDTH, 3), dtype=np.uint8)


def test_the_model_masks_span_the_range(contrasty_session):
    alpha = np.asarray(contrasty_session.remove(random_frames(1)[0]))[..., 3]
    assert alpha.min() < 40 and alpha.max() > 215


@pytest.mark.parametrize("batch_size", [1, 3])
def test_numbered_pngs_equal_session_remove_on_each_frame(contrasty_session, tmp_path, batch_size):
    frames = random_frames(7)
    count = remove_raw_frames(
        contrasty_session,
        io.BytesIO(frames.tobytes()),
        (WIDTH, HEIGHT),
        tmp_path / "out-%03d.png",
        batch_size=batch_size,
    )
    assert count == 7
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"out-{k:03d}.png" for k in range(7)]
    for k, frame in enumerate(frames):
        with PIL.Image.open(tmp_path / f"out-{k:03d}.png") as written:
            assert (written.format, written.mode, written.size) == ("PNG", "RGBA", (WIDTH, HEIGHT))
            np.testing.assert_array_equal(np.asarray(written), np.asarray(contrasty_session.remove(frame)))


@pytest.mark.parametrize(
    ("options", "pixel_format", "channels"),
    [({}, "rgba", 4), ({"mask_only": True}, "gray", 1), ({"bg_color": (0, 255, 0)}, "rgb24", 3)],
)
def test_raw_frames_to_a_stream(contrasty_session, options, pixel_format, channels):
    frames = random_frames(5, seed=1)
    output = io.BytesIO()
    assert remove_raw_frames(contrasty_session, io.BytesIO(frames.tobytes()), (WIDTH, HEIGHT), output, **options) == 5
    assert raw_pixel_format(**options) == pixel_format
    written = np.frombuffer(output.getvalue(), np.uint8).reshape(5, HEIGHT, WIDTH, channels)
    for frame, result in zip(frames, written):
        expected = np.asarray(contrasty_session.remove(frame, **options)).reshape(HEIGHT, WIDTH, channels)
        np.testing.assert_array_equal(result, expected)


def test_a_short_final_frame_is_an_error_naming_it_after_the_complete_ones_are_written(contrasty_session, tmp_path):
    frames = random_frames(3)
    data = frames.tobytes() + frames[0].tobytes()[:1000]
    with pytest.raises(
        ValueError, match=r"^<stdin>: frame 4 is incomplete: the stream ended after 1,000 of its 3,600"
    ):
        remove_raw_frames(contrasty_session, io.BytesIO(data), (WIDTH, HEIGHT), tmp_path / "f%d.png", start_number=1)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["f1.png", "f2.png", "f3.png"]


class Trickle(io.RawIOBase):
    """A pipe that hands out at most 777 bytes per read, as a real one may."""

    def __init__(self, data: bytes):
        self.data = memoryview(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size = min(777, len(buffer), len(self.data))
        buffer[:size], self.data = self.data[:size], self.data[size:]
        return size


def test_frames_split_across_reads_are_put_together(contrasty_session):
    frames = random_frames(3, seed=2)
    output = io.BytesIO()
    assert (
        remove_raw_frames(contrasty_session, Trickle(frames.tobytes()), (WIDTH, HEIGHT), output, mask_only=True) == 3
    )
    np.testing.assert_array_equal(
        np.frombuffer(output.getvalue(), np.uint8).reshape(3, HEIGHT, WIDTH),
        np.stack([np.asarray(contrasty_session.remove(frame, mask_only=True)) for frame in frames]),
    )


def test_an_empty_stream_is_an_error(contrasty_session, tmp_path):
    with pytest.raises(ValueError, match="no frames: the stream was empty"):
        remove_raw_frames(contrasty_session, io.BytesIO(b""), (WIDTH, HEIGHT), tmp_path / "f%d.png")


@pytest.mark.parametrize("pattern", ["out.png", "out-%d-%d.png", "out-%%.png"])
def test_a_pattern_needs_one_number_field(pattern):
    with pytest.raises(ValueError, match="one number field"):
        check_frame_pattern(pattern)


def test_jpeg_frames_cannot_hold_transparency(contrasty_session, tmp_path):
    with pytest.raises(ValueError, match="JPEG cannot store transparency"):
        remove_raw_frames(
            contrasty_session, io.BytesIO(random_frames(1).tobytes()), (WIDTH, HEIGHT), tmp_path / "f%d.jpg"
        )
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("text", ["320", "0x240", "axb", "320x-2", "100000x100000"])
def test_bad_frame_sizes(text):
    with pytest.raises(ValueError, match="frame"):
        parse_frame_size(text)


# --- the command ----------------------------------------------------------------------------------------------------


class Stdin(io.TextIOWrapper):
    def isatty(self) -> bool:
        return False


def test_cli_raw_frames_to_numbered_pngs(contrasty_model_dir, contrasty_session, tmp_path, monkeypatch, capsys):
    frames = random_frames(5, seed=3)
    monkeypatch.setattr(sys, "stdin", Stdin(io.BytesIO(frames.tobytes())))
    pattern = str(tmp_path / "frames" / "out-%04d.png")
    assert (
        main(["remove", "-", pattern, "--raw-frames", f"{WIDTH}x{HEIGHT}", "-m", contrasty_model_dir, "-b", "2"]) == 0
    )
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"u2net-hf remove: wrote 5 frames ({tmp_path / 'frames' / 'out-0000.png'} to out-0004.png)"
    )
    for k, frame in enumerate(frames):
        np.testing.assert_array_equal(
            np.asarray(PIL.Image.open(pattern % k)), np.asarray(contrasty_session.remove(frame))
        )


def test_cli_refuses_to_overwrite_frames(contrasty_model_dir, tmp_path, monkeypatch, capsys):
    (tmp_path / "out-0.png").write_bytes(b"kept")
    monkeypatch.setattr(sys, "stdin", Stdin(io.BytesIO(random_frames(1).tobytes())))
    assert main(["remove", "-", str(tmp_path / "out-%d.png"), "--raw-frames", "40x30", "-m", contrasty_model_dir]) == 1
    assert "already exists: pass --overwrite" in capsys.readouterr().err
    assert (tmp_path / "out-0.png").read_bytes() == b"kept"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["photo.png", "out-%d.png", "--raw-frames", "40x30"], "--raw-frames reads the frames from stdin"),
        (["-", "out-%d.png", "--raw-frames", "40"], "a frame size is WIDTHxHEIGHT"),
        (["-", "out.png", "--raw-frames", "40x30"], "one number field"),
    ],
)
def test_cli_bad_raw_frame_arguments(contrasty_model_dir, monkeypatch, capsys, argv, message):
    monkeypatch.setattr(sys, "stdin", Stdin(io.BytesIO(b"")))
    assert main(["remove", *argv, "-m", contrasty_model_dir]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("u2net-hf remove: error: ") and message in line


def run_cli(*args: str, stdin: bytes, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "u2net_hf", *args], input=stdin, cwd=cwd, env=env, capture_output=True, timeout=300
    )


def test_rembg_b_raw_frames_to_stdout_and_a_short_frame_in_a_real_process(
    contrasty_model_dir, contrasty_session, tmp_path
):
    """`u2net-hf b W H` as rembg's users pipe it: raw RGBA frames on stdout; then a stream cut inside frame 2:
    one line naming it, exit 1, and the complete frames written."""
    frames = random_frames(3, seed=4)
    result = run_cli("b", str(WIDTH), str(HEIGHT), "-m", contrasty_model_dir, stdin=frames.tobytes(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = np.frombuffer(result.stdout, np.uint8).reshape(3, HEIGHT, WIDTH, 4)
    np.testing.assert_array_equal(written, np.stack([np.asarray(contrasty_session.remove(frame)) for frame in frames]))

    cut = frames.tobytes()[: 2 * WIDTH * HEIGHT * 3 + 5]
    result = run_cli(
        "b", str(WIDTH), str(HEIGHT), "-o", "out-%03u.png", "-m", contrasty_model_dir, stdin=cut, cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.decode().strip().splitlines() == [
        "u2net-hf remove: error: <stdin>: frame 2 is incomplete: the stream ended after 5 of its 3,600 bytes "
        "(40x30 RGB24). Check that WxH is the size of the frames sent (ffmpeg's -s or scale) and that they are "
        "-pix_fmt rgb24."
    ]
    assert sorted(path.name for path in tmp_path.glob("out-*.png")) == ["out-000.png", "out-001.png"]
