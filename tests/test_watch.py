"""Tests of `u2net_hf.watch` and `u2net-hf remove IN OUT --watch`, on real watchdog (inotify on Linux) and real files:
images that appear or change are processed once complete, a bad one is reported without stopping the watch, and
the command stops on SIGINT with its summary. Outputs are compared with `Session.remove` on the same file."""

from __future__ import annotations

import io
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

from u2net_hf.watch import WatchResult, watch_folder

REPO_ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 60


def png_bytes(seed: int, size: tuple[int, int] = (40, 30)) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    PIL.Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def assert_cutout_of(output: Path, data: bytes, contrasty_session) -> None:
    with PIL.Image.open(output) as written:
        np.testing.assert_array_equal(
            np.asarray(written), np.asarray(contrasty_session.remove(PIL.Image.open(io.BytesIO(data))))
        )


class Watch:
    """`watch_folder` in a thread, its results in a queue, until `stop()`."""

    def __init__(self, contrasty_session, folder: Path, destination: Path, **options):
        self.results: queue.Queue[WatchResult] = queue.Queue()
        self.listening = threading.Event()
        self.stop_event = threading.Event()
        self.summary = None

        def run():
            self.summary = watch_folder(
                contrasty_session,
                folder,
                destination,
                stop=self.stop_event,
                on_result=self.results.put,
                on_ready=self.listening.set,
                **options,
            )

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert self.listening.wait(TIMEOUT_S)

    def next_result(self) -> WatchResult:
        return self.results.get(timeout=TIMEOUT_S)

    def no_result_for(self, seconds: float) -> bool:
        try:
            self.results.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def stop(self):
        self.stop_event.set()
        self.thread.join(TIMEOUT_S)
        return self.summary


def test_the_first_pass_mirrors_and_skips_as_a_folder_run(contrasty_session, tmp_path):
    folder, out = tmp_path / "in", tmp_path / "out"
    (folder / "trip").mkdir(parents=True)
    (folder / "trip" / "a.png").write_bytes(png_bytes(0))
    (folder / "b.png").write_bytes(png_bytes(1))
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes(png_bytes(2))
    out.mkdir()
    (out / "b.png").write_bytes(b"kept")
    old = time.time() - 60  # not being written any more
    for path in folder.rglob("*"):
        os.utime(path, (old, old))
    stop = threading.Event()
    summary = watch_folder(contrasty_session, folder, out, on_ready=stop.set, stop=stop)
    assert summary.done == [folder / "trip" / "a.png"]
    assert summary.skipped == [folder / "b.png"] and not summary.failed
    assert sorted(str(path.relative_to(out)) for path in out.rglob("*") if path.is_file()) == ["b.png", "trip/a.png"]
    assert_cutout_of(out / "trip" / "a.png", png_bytes(0), contrasty_session)
    assert (out / "b.png").read_bytes() == b"kept"


def test_images_that_appear_change_or_move_in_are_processed(contrasty_session, tmp_path):
    folder, out, outside = tmp_path / "in", tmp_path / "out", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    watch = Watch(contrasty_session, folder, out, settle=0.5, poll_interval=0.05)
    try:
        (folder / "new.png").write_bytes(png_bytes(3))
        result = watch.next_result()
        assert (result.status, result.source, result.output) == ("done", folder / "new.png", out / "new.png")
        assert_cutout_of(out / "new.png", png_bytes(3), contrasty_session)

        time.sleep(0.05)  # a later time stamp than its output's
        (folder / "new.png").write_bytes(png_bytes(4))  # changed: its output follows
        assert watch.next_result().status == "done"
        assert_cutout_of(out / "new.png", png_bytes(4), contrasty_session)

        (outside / "moved.png").write_bytes(png_bytes(5))
        (folder / "deep" / "er").mkdir(parents=True)
        shutil.move(outside / "moved.png", folder / "deep" / "er" / "moved.png")  # moved in: no close comes
        result = watch.next_result()
        assert (result.status, result.output) == ("done", out / "deep" / "er" / "moved.png")
        assert_cutout_of(out / "deep" / "er" / "moved.png", png_bytes(5), contrasty_session)

        (folder / ".partial.png").write_bytes(png_bytes(6))  # hidden, as downloads in progress are: left alone
        (folder / "readme.txt").write_text("not an image")
        assert watch.no_result_for(1.0)
    finally:
        summary = watch.stop()
    assert summary.done == [folder / "new.png", folder / "new.png", folder / "deep" / "er" / "moved.png"]
    assert not summary.failed and not (out / ".partial.png").exists()


def test_a_slowly_written_file_is_read_only_once_complete(contrasty_session, tmp_path):
    """Written in chunks, with pauses longer than `settle`, by a writer that keeps it open: inotify's close says
    when it is done; the size being stable for a while does not."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    watch = Watch(contrasty_session, folder, out, settle=0.3, poll_interval=0.05)
    data = png_bytes(7, size=(120, 90))
    try:
        with open(folder / "slow.png", "wb") as file:
            for start in range(0, len(data), len(data) // 3 + 1):
                file.write(data[start : start + len(data) // 3 + 1])
                file.flush()
                time.sleep(0.7)
                assert not (out / "slow.png").exists()
        result = watch.next_result()
        assert (result.status, result.source) == ("done", folder / "slow.png")
        assert_cutout_of(out / "slow.png", data, contrasty_session)
    finally:
        summary = watch.stop()
    assert summary.done == [folder / "slow.png"] and not summary.failed


def test_a_bad_file_is_reported_and_the_watch_goes_on(contrasty_session, tmp_path):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    watch = Watch(contrasty_session, folder, out, poll_interval=0.05)
    try:
        (folder / "bad.png").write_bytes(b"not a png at all")
        result = watch.next_result()
        assert result.status == "failed" and result.message.startswith(f"{folder / 'bad.png'}: not an image file")
        (folder / "good.png").write_bytes(png_bytes(8))
        assert watch.next_result().status == "done"
        assert_cutout_of(out / "good.png", png_bytes(8), contrasty_session)
    finally:
        summary = watch.stop()
    assert list(summary.failed) == [folder / "bad.png"] and summary.done == [folder / "good.png"]
    assert not (out / "bad.png").exists()


def test_outputs_inside_the_watched_folder_are_refused(contrasty_session, tmp_path):
    with pytest.raises(ValueError, match="inside the watched folder"):
        watch_folder(contrasty_session, tmp_path, tmp_path / "out")
    with pytest.raises(ValueError, match="not a folder"):
        watch_folder(contrasty_session, tmp_path / "missing", tmp_path / "out")


# --- the command, as a real process ------------------------------------------------------------------------------------


class Process:
    """`u2net-hf remove ... --watch` in a subprocess, its stderr read line by line as it comes."""

    def __init__(self, *args: str, cwd: Path):
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "u2net_hf", "remove", *args],
            cwd=cwd,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, start: str) -> str:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            self.seen.append(line)
            if line.startswith(start):
                return line
        raise AssertionError(f"no line starting {start!r}; stderr so far: {self.seen}")

    def interrupt(self) -> tuple[int, list[str]]:
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.stop()  # a watch that ignores Ctrl-C must not outlive its test
            raise
        time.sleep(0.1)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code, self.seen

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(TIMEOUT_S)


def test_the_command_watches_survives_a_bad_file_and_stops_on_sigint(contrasty_model_dir, contrasty_session, tmp_path):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    (folder / "first.png").write_bytes(png_bytes(9))
    old = time.time() - 60
    os.utime(folder / "first.png", (old, old))
    watch = Process("in", "out", "--watch", "-m", contrasty_model_dir, cwd=tmp_path)
    try:
        assert watch.wait_for("u2net-hf remove: wrote ") == f"u2net-hf remove: wrote {Path('out') / 'first.png'}"
        watch.wait_for("u2net-hf remove: watching in (Ctrl-C stops)")

        (folder / "bad.png").write_bytes(b"GIF89a but no more")
        assert watch.wait_for("u2net-hf remove: failed").startswith(
            f"u2net-hf remove: failed {Path('in') / 'bad.png'}: "
        )
        data = png_bytes(10, size=(120, 90))
        with open(folder / "slow.png", "wb") as file:  # written in three chunks, half a second apart
            for start in range(0, len(data), len(data) // 3 + 1):
                file.write(data[start : start + len(data) // 3 + 1])
                file.flush()
                time.sleep(0.5)
                assert not (out / "slow.png").exists()
        assert watch.wait_for("u2net-hf remove: wrote ") == f"u2net-hf remove: wrote {Path('out') / 'slow.png'}"
        assert_cutout_of(out / "slow.png", data, contrasty_session)

        time.sleep(0.05)
        (folder / "bad.png").write_bytes(png_bytes(11))  # the bad file replaced by a good one
        watch.wait_for(f"u2net-hf remove: wrote {Path('out') / 'bad.png'}")
    except BaseException:
        watch.stop()
        raise
    code, lines = watch.interrupt()
    assert code == 0, lines
    assert not any("Traceback" in line or "interrupted" in line for line in lines)
    assert lines[-1].startswith("u2net-hf remove: stopped watching in after ")
    assert lines[-1].endswith(": 3 done, 0 skipped, 0 failed (outputs in out)")
    assert_cutout_of(out / "first.png", png_bytes(9), contrasty_session)
    assert_cutout_of(out / "bad.png", png_bytes(11), contrasty_session)


def test_the_command_exits_1_with_the_failures_when_stopped(contrasty_model_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    watch = Process("in", "out", "--watch", "-q", "-m", contrasty_model_dir, cwd=tmp_path)
    try:
        time.sleep(0.5)
        (folder / "bad.jpg").write_bytes(b"\xff\xd8\xff truncated")
        watch.wait_for("u2net-hf remove: failed")
    except BaseException:
        watch.stop()
        raise
    code, lines = watch.interrupt()
    assert code == 1
    assert lines[-2].endswith(": 0 done, 0 skipped, 1 failed (outputs in out)")
    assert lines[-1].startswith(f"  failed {Path('in') / 'bad.jpg'}: ")
