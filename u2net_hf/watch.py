# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Watching a folder: a drop folder whose images get their backgrounds removed as they arrive.

[`watch_folder`] processes what the folder holds, then every image that appears or changes anywhere under it,
with the tree mirroring and the skipping of a folder run (see [`~u2net_hf.jobs.plan_folder`]), until it is
interrupted. A file is read only once it is complete: closed after writing (Linux reports it) or moved in, and
no longer growing; where closes are not reported, once its size and time stamp have not changed for `settle`
seconds. A file that cannot be processed is reported and the watch goes on. Needs the `watch` extra
(`pip install -e ".[watch]"` in a clone, built on watchdog).
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .extras import install_hint
from .images import printable_name, save_image
from .jobs import plan_folder

INSTALL_HINT = install_hint("watch")


@dataclass(frozen=True)
class WatchResult:
    """
    What became of one image of a watched folder.

    Args:
        status (`str`): `"done"`, `"skipped"` (its output already exists) or `"failed"`.
        source (`Path`): The image.
        output (`Path`): Where its result goes.
        message (`str`, *optional*): For a failure, one line naming the image and what went wrong.
    """

    status: str
    source: Path
    output: Path
    message: str | None = None


@dataclass
class WatchSummary:
    """
    What a watch did, once it stops.

    Args:
        done (`list[Path]`): Images written, in order (an image that changed twice counts twice).
        skipped (`list[Path]`): Images whose output already existed.
        failed (`dict[Path, str]`): Images whose last attempt failed, with the one-line reason; an image that
            failed and was then replaced by a good one is no longer among them.
        seconds (`float`): How long the watch ran.
    """

    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, result: WatchResult) -> None:
        if result.status == "failed":
            self.failed[result.source] = result.message
            return
        self.failed.pop(result.source, None)
        (self.done if result.status == "done" else self.skipped).append(result.source)


@dataclass
class _Pending:
    """A file seen changing, not yet read: `closed` is True once it was closed after writing (or moved in), None
    when nobody can tell (closes not reported, or it was already there when the watch started)."""

    closed: bool | None
    size: int = -1
    mtime_ns: int = -1
    stable_since: float = 0.0


def watch_folder(
    session,
    folder: str | os.PathLike,
    destination: str | os.PathLike,
    *,
    batch_size: int = 4,
    overwrite: bool = False,
    settle: float = 2.0,
    poll_interval: float = 0.2,
    stop: threading.Event | None = None,
    on_result: Callable[[WatchResult], None] | None = None,
    on_ready: Callable[[], None] | None = None,
    **options,
) -> WatchSummary:
    """
    Remove the backgrounds of the images under `folder`, then of every image that appears or changes there,
    until `stop` is set or the process is interrupted (Ctrl-C: `KeyboardInterrupt` ends the watch, which returns
    its summary).

    Outputs mirror the tree under `destination`, one `.png` per image (see [`~u2net_hf.jobs.plan_folder`]), each
    written atomically. At the start, existing outputs are kept unless `overwrite`, as in a folder run; after
    that, an image that appears or changes gets its output (re)written unless the output is newer than it.
    Hidden files and folders, files that are not images and non-regular files are left alone.

    Args:
        session ([`~u2net_hf.Session`]):
            The loaded model (see [`~u2net_hf.new_session`]).
        folder (`str` or `os.PathLike`):
            The folder to watch, recursively.
        destination (`str` or `os.PathLike`):
            Where outputs go; not inside `folder`.
        batch_size (`int`, *optional*, defaults to 4):
            Images per forward pass, when several are ready at once.
        overwrite (`bool`, *optional*, defaults to `False`):
            Replace the outputs found at the start.
        settle (`float`, *optional*, defaults to 2.0):
            Seconds a file's size and time stamp must stay the same before it is read, where closes are not
            reported (other systems than Linux) or not known (files being written when the watch started).
        poll_interval (`float`, *optional*, defaults to 0.2):
            Seconds between looks at the files waiting to be complete.
        stop (`threading.Event`, *optional*):
            Set it (from another thread) to end the watch.
        on_result (`Callable[[WatchResult], None]`, *optional*):
            Called with each image's [`WatchResult`] as it comes (to print progress).
        on_ready (`Callable[[], None]`, *optional*):
            Called once the first pass is done and the watch is listening.
        options:
            Removal options (`mask_only`, `bg_color`, `threshold`, ...; see [`~u2net_hf.remove_background`]).

    Returns:
        [`WatchSummary`].

    Raises:
        `ValueError`: one line when `folder` is not a folder or `destination` lies inside it. `RuntimeError`: when
        watchdog is not installed.

    Example:

    ```python
    >>> import threading
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> from u2net_hf import new_session
    >>> from u2net_hf.watch import watch_folder

    >>> Path("drop").mkdir(exist_ok=True)
    >>> stop = threading.Event()
    >>> def drop_a_photo():  # once the watch listens
    ...     Image.new("RGB", (64, 48), "white").save("drop/photo.jpg")
    >>> summary = watch_folder(
    ...     new_session(), "drop", "cutouts", on_ready=drop_a_photo, on_result=lambda result: stop.set(), stop=stop
    ... )
    >>> [str(path) for path in summary.done], Path("cutouts/photo.png").exists()
    (['drop/photo.jpg'], True)
    ```
    """
    observers = _watchdog()
    folder, destination = Path(folder), Path(destination)
    _check_folders(folder, destination)
    stop = stop or threading.Event()
    report = _Reporter(WatchSummary(), on_result)
    events: queue.SimpleQueue = queue.SimpleQueue()
    observer = observers.Observer()
    # Whether this observer reports closes: Linux's inotify does (IN_CLOSE_WRITE); the others only poll.
    closes_reported = type(observer).__name__.startswith("Inotify")
    started = time.monotonic()
    observer.schedule(_event_handler(events), os.fspath(folder), recursive=True)
    observer.start()  # before the first pass, so that nothing written during it goes unseen
    try:
        pending = _first_pass(session, folder, destination, report, settle, batch_size, overwrite, options)
        if on_ready is not None:
            on_ready()
        while not stop.is_set():
            _take_events(events, pending, closes_reported)
            ready = _ready(pending, closes_reported, settle, poll_interval)
            if ready:
                pairs = _planned(folder, destination, ready)
                todo = [(source, output) for source, output in pairs if _needs_output(source, output)]
                report.skipped(pair for pair in pairs if pair not in todo)
                _process(session, todo, report, batch_size, options)
            stop.wait(poll_interval)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a watch ends: the summary is the answer
    finally:
        _stop(observer)
    report.summary.seconds = time.monotonic() - started
    return report.summary


def _watchdog():
    try:
        import watchdog.observers
    except ImportError as error:
        raise RuntimeError(f"Watching a folder needs watchdog: {INSTALL_HINT}.") from error
    return watchdog.observers


def _stop(observer) -> None:
    import logging

    # watchdog's inotify thread may log "queue_events() called when the thread is inactive" if it is stopped
    # while it waits for an event: harmless (nothing is lost that the watch still wanted), and no error of ours.
    logger = logging.getLogger("watchdog.observers.inotify")

    def quiet(record: logging.LogRecord) -> bool:
        return "called when the thread is inactive" not in record.getMessage()

    logger.addFilter(quiet)
    try:
        observer.stop()
        observer.join()
    finally:
        logger.removeFilter(quiet)


def _check_folders(folder: Path, destination: Path) -> None:
    if not folder.is_dir():
        raise ValueError(f"{printable_name(folder)}: not a folder; a watch needs a folder to watch.")
    if destination.resolve().is_relative_to(folder.resolve()):
        raise ValueError(
            f"{printable_name(destination)} is inside the watched folder {printable_name(folder)}: every output "
            "would be taken for a new image; choose a folder outside it."
        )


class _Reporter:
    def __init__(self, summary: WatchSummary, on_result):
        self.summary = summary
        self.on_result = on_result

    def __call__(self, result: WatchResult) -> None:
        self.summary.add(result)
        if self.on_result is not None:
            self.on_result(result)

    def skipped(self, pairs) -> None:
        for source, output in pairs:
            self(WatchResult("skipped", source, output))


def _event_handler(events: queue.SimpleQueue):
    """A watchdog handler that hands each event (from watchdog's thread) to the watch loop as `(kind, path,
    is_directory)`."""
    from watchdog.events import FileSystemEventHandler

    class Forward(FileSystemEventHandler):
        def on_any_event(self, event):
            kind = event.event_type
            if kind == "moved":
                events.put(("moved", _absolute(event.dest_path), event.is_directory))
            elif kind in ("created", "modified", "closed", "deleted"):
                events.put((kind, _absolute(event.src_path), event.is_directory))
            # "opened" and "closed_no_write" come from readers (this watch among them): nothing changed.

    return Forward()


def _absolute(path) -> Path:
    return Path(os.path.abspath(os.fsdecode(path)))


def _first_pass(session, folder, destination, report, settle, batch_size, overwrite, options) -> dict:
    """Process what the folder holds, as a folder run would; files changed within the last `settle` seconds may
    still be being written: they wait with the others."""
    plan = plan_folder(folder, destination)
    pending, todo = {}, []
    now_ns = time.time_ns()
    for source, output in plan.pairs:
        if output.exists() and not overwrite:
            report(WatchResult("skipped", source, output))
        elif now_ns - _stat(source)[1] < settle * 1e9:
            pending[_absolute(source)] = _Pending(None)
        else:
            todo.append((source, output))
    _process(session, todo, report, batch_size, options)
    return pending


def _take_events(events: queue.SimpleQueue, pending: dict, closes_reported: bool) -> None:
    while True:
        try:
            kind, path, is_directory = events.get_nowait()
        except queue.Empty:
            return
        if is_directory:
            continue  # the files of a folder moved in come as events of their own
        if kind == "deleted":
            pending.pop(path, None)
        elif kind in ("closed", "moved"):  # closed after writing, or renamed into place: complete
            pending[path] = _Pending(True)
        elif kind == "created":
            # Created by a writer, or moved in from outside the tree (which watchdog reports as created): only a
            # write says which, and then its close will come.
            pending[path] = _Pending(None)
        else:
            pending[path] = _Pending(False if closes_reported else None)


def _ready(pending: dict, closes_reported: bool, settle: float, poll_interval: float) -> list[Path]:
    """The files that are complete: closed after writing (or renamed into place) and the same size at two looks in
    a row; where nobody can tell whether they were closed, the same size and time stamp for `settle` seconds. Empty
    files wait: nothing has been written yet."""
    now = time.monotonic()
    ready = []
    for path, entry in list(pending.items()):
        size, mtime_ns = _stat(path)
        if size < 0:  # gone
            del pending[path]
            continue
        if (size, mtime_ns) != (entry.size, entry.mtime_ns):
            entry.size, entry.mtime_ns, entry.stable_since = size, mtime_ns, now
            continue
        quiet = now - entry.stable_since
        if entry.closed is False or size == 0:
            continue  # still open for writing (its close will say when it is done), or nothing written yet
        if (entry.closed and quiet >= poll_interval) or quiet >= settle:
            ready.append(path)
            del pending[path]
    return ready


def _stat(path: Path) -> tuple[int, int]:
    try:
        status = os.stat(path)
    except OSError:
        return -1, -1
    return status.st_size, status.st_mtime_ns


def _planned(folder: Path, destination: Path, ready: list[Path]) -> list[tuple[Path, Path]]:
    """The ready files that a folder run would process, with their outputs: the plan of the whole tree, so that
    names are the same as a folder run's (and clashes between `a.jpg` and `a.png` are resolved the same way)."""
    wanted = set(ready)
    return [
        (source, output) for source, output in plan_folder(folder, destination).pairs if _absolute(source) in wanted
    ]


def _needs_output(source: Path, output: Path) -> bool:
    out = _stat(output)[1]
    return out < 0 or out < _stat(source)[1]


def _process(session, pairs: list[tuple[Path, Path]], report: _Reporter, batch_size: int, options: dict) -> None:
    """Each image through the session (a bad one is reported, the others go on), each result written
    atomically."""
    from .sessions import RemovalError

    if not pairs:
        return
    results = session.remove_many(
        (source for source, _ in pairs), batch_size=batch_size, errors="return", **{**options, "output_format": "PNG"}
    )
    # Closed here, not whenever it is collected: a Ctrl-C that comes while its threads wind down must end the
    # watch, and an interrupt inside a generator's finalizer would be ignored.
    with contextlib.closing(results):
        for (source, output), result in zip(pairs, results):
            if isinstance(result, RemovalError):
                report(WatchResult("failed", source, output, str(result)))
                continue
            try:
                save_image(result, output)
            except (OSError, ValueError) as error:
                report(WatchResult("failed", source, output, f"{printable_name(source)}: {error}"))
            else:
                report(WatchResult("done", source, output))


__all__ = ["INSTALL_HINT", "WatchResult", "WatchSummary", "watch_folder"]
