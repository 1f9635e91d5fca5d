# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Writing files and folders so that readers only ever see complete ones: the one atomic writer of the package.

Everything is written to a temporary file in the destination's own folder (same file system, so the final
rename is atomic), flushed to disk, then renamed over the destination. A failure, or a kill, leaves the
destination as it was; temporaries are named `.NAME.<8 hex digits>.tmp` (see `TEMPORARY_NAME`).
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

# `.photo.png.1a2b3c4d.tmp`: what `atomic_write` leaves behind only when the process is killed mid-write.
TEMPORARY_NAME = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")


def temporary_path(destination: str | os.PathLike) -> Path:
    """A fresh temporary name beside `destination`, matching `TEMPORARY_NAME`."""
    destination = Path(destination)
    return destination.with_name(f".{destination.name}.{secrets.token_hex(4)}.tmp")


@contextlib.contextmanager
def atomic_write(destination: str | os.PathLike, mode: str = "wb", *, encoding: str | None = None) -> Iterator[IO]:
    """
    Open a temporary file beside `destination` for writing; on a clean exit, flush it to disk and rename it over
    `destination`; on an error, remove it and leave `destination` untouched.

    Args:
        destination (`str` or `os.PathLike`):
            The file to write; its folder is created when missing.
        mode (`str`, *optional*, defaults to `"wb"`):
            `"wb"` or `"w"` (text, then `encoding` defaults to UTF-8).
        encoding (`str`, *optional*):
            The text encoding for `mode="w"`.

    Example:

    ```python
    >>> from u2net_hf.files import atomic_write

    >>> with atomic_write("notes.txt", "w") as file:
    ...     _ = file.write("complete or absent, never half-written")
    ```
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write writes files from scratch: mode must be 'wb' or 'w', got {mode!r}.")
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(destination)
    # O_EXCL: never follow or reuse an existing file; 0o666 lets the umask decide the final permissions.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        text = {"encoding": encoding or "utf-8"} if mode == "w" else {}
        with os.fdopen(descriptor, mode, **text) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, destination)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """
    Remove, under `folder` (recursively), the temporaries that [`atomic_write`] left behind when its process was
    killed mid-write: only files whose names match `TEMPORARY_NAME`, nothing else.

    Returns:
        `list[Path]`: the files removed.
    """
    return _remove_temporaries(Path(root) / name for root, _, names in os.walk(folder) for name in names)


def remove_stale_temporaries_of(destination: str | os.PathLike) -> list[Path]:
    """
    Remove the temporaries that [`atomic_write`] left beside `destination` when a run writing it was killed:
    `.NAME.<8 hex digits>.tmp` for that one name, nothing else (a single-file run's counterpart of
    [`remove_stale_temporaries`]).

    Returns:
        `list[Path]`: the files removed.
    """
    destination = Path(destination)
    if not destination.parent.is_dir():
        return []
    # `.NAME.` + 8 hex digits + `.tmp`: the length rules out the temporaries of longer names starting with NAME.
    candidates = destination.parent.glob(f".{glob.escape(destination.name)}.*.tmp")
    return _remove_temporaries(path for path in candidates if len(path.name) == len(destination.name) + 14)


def _remove_temporaries(paths) -> list[Path]:
    removed = []
    for path in paths:
        if TEMPORARY_NAME.match(path.name) and path.is_file() and not path.is_symlink():
            with contextlib.suppress(FileNotFoundError):  # another run may have just finished it
                path.unlink()
                removed.append(path)
    return removed


def write_bytes_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically (see [`atomic_write`]). Returns the path."""
    with atomic_write(path, "wb") as file:
        file.write(data)
    return Path(path)


def write_text_atomically(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically (see [`atomic_write`]). Returns the path."""
    with atomic_write(path, "w") as file:
        file.write(text)
    return Path(path)


def make_staging_folder(destination: str | os.PathLike) -> Path:
    """An empty temporary folder beside `destination`, to fill and then hand to [`replace_folder`]."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent))


def replace_folder(staging: str | os.PathLike, destination: str | os.PathLike) -> Path:
    """
    Put the complete folder `staging` in the place of `destination` (made by [`make_staging_folder`]): one
    rename when `destination` does not exist; else the old folder is moved aside first and put back if the swap
    fails. Files get the usual shared permissions (mkdtemp and safetensors make them private to the user).
    """
    staging, destination = Path(staging), Path(destination)
    os.chmod(staging, 0o755)
    for path in staging.iterdir():
        os.chmod(path, 0o644)
    if not destination.exists():
        os.replace(staging, destination)
        return destination
    # A non-empty folder cannot be renamed over: move it aside first, and put it back if the swap fails.
    previous = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".old", dir=destination.parent))
    os.replace(destination, previous / destination.name)
    try:
        os.replace(staging, destination)
    except BaseException:
        os.replace(previous / destination.name, destination)
        raise
    shutil.rmtree(previous, ignore_errors=True)
    return destination


__all__ = [
    "TEMPORARY_NAME",
    "atomic_write",
    "make_staging_folder",
    "remove_stale_temporaries",
    "remove_stale_temporaries_of",
    "replace_folder",
    "temporary_path",
    "write_bytes_atomically",
    "write_text_atomically",
]
