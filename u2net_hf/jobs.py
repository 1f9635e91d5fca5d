# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Planning folder runs: which files of an input tree are images, and where each one's output goes.

One plan for every runner (the `u2net-hf remove` command, Ray jobs), so that they mirror a tree the same way
and a run started with one can be finished with the other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .images import image_extensions, is_regular_file


@dataclass(frozen=True)
class FolderPlan:
    """
    The images of an input tree and their outputs.

    Args:
        pairs (`list[tuple[Path, Path]]`): `(image, output)` for every image, in sorted order.
        ignored (`list[Path]`): Files left out because their extension is not an image format.
        not_regular (`list[Path]`): Image-named entries that are not regular files (FIFOs, sockets, devices): never
            opened, since reading one could block forever or never end.
    """

    pairs: list[tuple[Path, Path]]
    ignored: list[Path]
    not_regular: list[Path]


def plan_folder(folder: str | os.PathLike, destination: str | os.PathLike) -> FolderPlan:
    """
    Every image under `folder` (recursively; hidden files and folders left out), each with the output at the same
    place under `destination`: `trip/a.jpg` gives `trip/a.png` (see [`output_names`]).

    Example:

    ```python
    >>> from u2net_hf.jobs import plan_folder

    >>> plan = plan_folder("docs/assets", "/tmp/cutouts")
    >>> plan.pairs[0]
    (PosixPath('docs/assets/astronaut.jpg'), PosixPath('/tmp/cutouts/astronaut.png'))
    ```
    """
    folder, destination = Path(folder), Path(destination)
    extensions = image_extensions()
    sources, ignored, not_regular = [], [], []
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files):
            path = Path(root) / name
            if name.startswith("."):
                continue
            if Path(name).suffix.lower() not in extensions:
                ignored.append(path)
            elif is_regular_file(path):
                sources.append(path)
            else:
                not_regular.append(path)
    relative = [PurePosixPath(source.relative_to(folder).as_posix()) for source in sources]
    outputs = [destination.joinpath(*name.parts) for name in output_names(relative)]
    return FolderPlan(list(zip(sources, outputs, strict=True)), ignored, not_regular)


def output_names(relative_paths: list[PurePosixPath]) -> list[PurePosixPath]:
    """
    The output name of each input, relative to the output folder: the same place with a `.png` extension; where two
    inputs would get the same name (`photo.jpg` and `photo.png`), both keep their extension (`photo.jpg.png`,
    `photo.png.png`), so that neither output overwrites the other.
    """
    stems = [path.with_suffix("") for path in relative_paths]
    clashing = {stem for stem in stems if stems.count(stem) > 1} if len(set(stems)) < len(stems) else set()
    return [
        path.parent / f"{path.name if stem in clashing else path.stem}.png"
        for path, stem in zip(relative_paths, stems, strict=True)
    ]


__all__ = ["FolderPlan", "output_names", "plan_folder"]
