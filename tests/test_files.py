"""Tests of `u2net_hf.files`: the package's one atomic writer, folder replacement, and the clean-up of what a
killed writer leaves."""

from __future__ import annotations

import os

import pytest

from u2net_hf.files import (
    TEMPORARY_NAME,
    atomic_write,
    make_staging_folder,
    remove_stale_temporaries,
    replace_folder,
    temporary_path,
    write_bytes_atomically,
    write_text_atomically,
)


def test_a_write_is_all_or_nothing(tmp_path):
    path = tmp_path / "notes.txt"
    write_text_atomically(path, "first")
    with pytest.raises(RuntimeError), atomic_write(path, "w") as file:
        file.write("second, half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "first"
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_writes_create_the_folder_and_use_the_umask(tmp_path):
    path = write_bytes_atomically(tmp_path / "a" / "b" / "data.bin", b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_temporaries_have_the_pattern_the_clean_up_looks_for(tmp_path):
    temporary = temporary_path(tmp_path / "photo.png")
    assert temporary.parent == tmp_path and TEMPORARY_NAME.match(temporary.name)
    assert temporary_path(tmp_path / "photo.png") != temporary


def test_only_our_temporaries_are_cleaned_up(tmp_path):
    (tmp_path / "sub").mkdir()
    ours = [tmp_path / ".photo.png.0a1b2c3d.tmp", tmp_path / "sub" / ".x.webp.ffffffff.tmp"]
    others = [tmp_path / "photo.png", tmp_path / "x.tmp", tmp_path / ".photo.png.0a1b2c3.tmp", tmp_path / ".y.tmp"]
    for path in ours + others:
        path.write_bytes(b"")
    assert sorted(remove_stale_temporaries(tmp_path)) == sorted(ours)
    assert all(path.exists() for path in others) and not any(path.exists() for path in ours)


def test_modes_other_than_writing_anew_are_refused(tmp_path):
    with pytest.raises(ValueError, match="mode must be 'wb' or 'w'"), atomic_write(tmp_path / "x", "ab"):
        pass


def test_replace_folder_swaps_a_whole_folder(tmp_path):
    destination = tmp_path / "model"
    destination.mkdir()
    (destination / "old.txt").write_text("old")
    staging = make_staging_folder(destination)
    (staging / "new.txt").write_text("new")
    replace_folder(staging, destination)
    assert sorted(os.listdir(destination)) == ["new.txt"]
    assert sorted(os.listdir(tmp_path)) == ["model"]  # neither the staging nor the old folder is left
