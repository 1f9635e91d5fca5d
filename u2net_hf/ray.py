# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Background removal over many machines and GPUs with Ray Data (`pip install -e ".[ray]"` in a clone).

[`RemoveBackgrounds`] is a callable class for `ray.data.Dataset.map_batches`: each actor of the pool makes one
[`~u2net_hf.Session`] and runs batches of images through it, with a per-row error column instead of a failed
job. [`remove_backgrounds_ray`] runs the whole job from a folder (or a bucket) to a folder, mirroring the tree,
skipping what is done and writing every output atomically, on a laptop (`ray.init()` local) or a cluster
(`address=`) unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from .extras import install_hint

# The columns Ray's readers fill: `read_images` gives "image" (decoded arrays), `read_binary_files` "bytes".
IMAGE_COLUMNS = ("image", "bytes")
ERROR_COLUMN = "error"


def _import_ray():
    try:
        import ray
        import ray.data
    except ImportError as error:
        raise RuntimeError(f"Ray jobs need Ray Data: {install_hint('ray')}.") from error
    return ray


class RemoveBackgrounds:
    """
    Remove backgrounds in `ray.data.Dataset.map_batches`: constructed once per actor (it loads one session), called
    on each batch.

    A batch is Ray's numpy format: `{"image": arrays}` from `ray.data.read_images`, `{"bytes": encoded files}` from
    `read_binary_files`, or `{"path": file paths}` on a file system every node sees. The result keeps the batch's
    other columns (such as `"path"`), drops the input column, and adds the output column (`"cutout"`, or `"mask"`
    with `mask_only=True`) and `"error"`: `""`, or one line naming the image (by its `"path"` when the batch has
    one). A bad image never fails the job. Outputs are uint8 arrays for arrays and paths, and PNG bytes for encoded
    files (as [`~u2net_hf.remove_background`] gives for bytes: no decoding twice); `output_format` makes every
    output encoded bytes in that format.

    Args:
        model (`str` or `os.PathLike`, *optional*, defaults to `"u2net-lite"`):
            A model spec, as for [`~u2net_hf.new_session`] (a name, a folder every node sees, a Hub repo id).
        backend (`str`, *optional*):
            See [`~u2net_hf.new_session`].
        device (`str`, *optional*):
            See [`~u2net_hf.new_session`]; on an actor given `num_gpus=1`, the default is that GPU.
        int8 (`bool`, *optional*, defaults to `False`):
            See [`~u2net_hf.new_session`].
        num_threads (`int`, *optional*):
            See [`~u2net_hf.new_session`]; match it to the actor's `num_cpus`.
        batch_size (`int`, *optional*, defaults to 4):
            Images per forward pass within a Ray batch.
        output_column (`str`, *optional*):
            The name of the output column; `"cutout"` or `"mask"` by default.
        options:
            The options of [`~u2net_hf.remove_background`] (`mask_only`, `bg_color`, `threshold`, `output_format`,
            `compress_level`).

    Example:

    ```python
    >>> import ray  # doctest: +SKIP
    >>> from u2net_hf.ray import RemoveBackgrounds

    >>> dataset = ray.data.read_images("photos/", include_paths=True)  # doctest: +SKIP
    >>> cutouts = dataset.map_batches(
    ...     RemoveBackgrounds, fn_constructor_kwargs={"model": "u2net-lite"}, batch_size=16,
    ...     compute=ray.data.ActorPoolStrategy(size=4),
    ... )  # doctest: +SKIP
    ```
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        backend: str | None = None,
        device: str | None = None,
        int8: bool = False,
        num_threads: int | None = None,
        batch_size: int = 4,
        output_column: str | None = None,
        **options,
    ):
        from .background import RemoveOptions
        from .sessions import new_session

        self.options = RemoveOptions.create(**options)  # checked once, in the actor, before any batch
        self.session = new_session(model, backend=backend, device=device, int8=int8, num_threads=num_threads)
        self.batch_size = batch_size
        self.output_column = output_column or ("mask" if self.options.mask_only else "cutout")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from dataclasses import asdict

        from .sessions import RemovalError

        column = next((name for name in (*IMAGE_COLUMNS, "path") if name in batch), None)
        if column is None:
            raise ValueError(f"A batch needs one of the columns {[*IMAGE_COLUMNS, 'path']}, got {sorted(batch)}.")
        images = [_as_input(value) for value in batch[column]]
        paths = [str(path) for path in batch["path"]] if "path" in batch else None
        outputs, errors = [], []
        results = self.session.remove_many(images, batch_size=self.batch_size, errors="return", **asdict(self.options))
        for index, result in enumerate(results):
            if isinstance(result, RemovalError):
                errors.append(_error_line(result, paths[index] if paths else None))
                outputs.append(None)
            else:
                errors.append("")
                outputs.append(result if isinstance(result, bytes) else np.asarray(result))
        kept = {name: values for name, values in batch.items() if name not in IMAGE_COLUMNS}
        return {**kept, self.output_column: _object_array(outputs), ERROR_COLUMN: np.asarray(errors, dtype=object)}


def _as_input(value):
    if isinstance(value, np.ndarray) and value.dtype == object:  # Ray's ragged columns hold one array per row
        value = value.item() if value.ndim == 0 else value
    return value if isinstance(value, (bytes, np.ndarray)) else str(value)


def _error_line(error, path: str | None) -> str:
    # The session names an image by its path when it read the file, and by its position otherwise.
    if path is None or error.name == path:
        return str(error)
    return f"{path}: {error.reason}"


def _object_array(values: list) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


class _RemoveAndWrite(RemoveBackgrounds):
    """The job's actor: removes backgrounds, writes each output where the plan says, and returns only what the
    driver needs to report (so that no image travels back through the object store)."""

    def __init__(self, *, filesystem=None, **kwargs):
        super().__init__(output_format="png", **kwargs)
        self.filesystem = filesystem

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        result = super().__call__(batch)
        for index, data in enumerate(result[self.output_column]):
            if data is None:
                continue
            destination = str(result["destination"][index])
            try:
                _write(data, destination, self.filesystem)
            except (OSError, ValueError) as error:
                result[ERROR_COLUMN][index] = f"{batch['path'][index]}: {' '.join(str(error).split())}"
        return {"path": result["path"], "destination": result["destination"], ERROR_COLUMN: result[ERROR_COLUMN]}


def _write(data: bytes, destination: str, filesystem) -> None:
    if filesystem is None:  # a local or shared file system: atomically, as every writer of the package
        from .images import save_image

        save_image(data, destination)
        return
    # Object stores publish an object only once its upload completes: readers never see half of it.
    with filesystem.open_output_stream(destination) as stream:
        stream.write(data)


@dataclass
class RaySummary:
    """
    What a [`remove_backgrounds_ray`] job did.

    Args:
        done (`list[str]`): The inputs whose outputs were written.
        skipped (`list[str]`): The inputs whose outputs existed already (not redone without `overwrite=True`).
        failed (`list[str]`): One line per input that failed, naming it.
        ignored (`int`): Files left out: not an image format, or not a regular file (a FIFO, a device: never opened).
    """

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    ignored: int = 0


def remove_backgrounds_ray(
    input_uri: str | os.PathLike,
    output_uri: str | os.PathLike,
    *,
    model: str | os.PathLike | None = None,
    batch_size: int = 4,
    num_actors: int | tuple[int, int] = 1,
    num_cpus_per_actor: float = 1,
    num_gpus_per_actor: float = 0,
    overwrite: bool = False,
    address: str | None = None,
    backend: str | None = None,
    int8: bool = False,
    **options,
) -> RaySummary:
    """
    Remove the backgrounds of every image under `input_uri` with a pool of Ray actors, writing `<name>.png` at the
    same place under `output_uri` (the tree of `u2net-hf remove INPUT OUTPUT`, output for output).

    Outputs that exist are skipped unless `overwrite`, so a job that was stopped finishes when run again; each
    output is written atomically (a temporary file, then a rename) by the actor that made it, and images that
    cannot be processed are reported, by name, in the summary instead of failing the job.

    Args:
        input_uri (`str` or `os.PathLike`):
            A folder (local, or shared by every node), or a URI that `pyarrow.fs` opens (`s3://bucket/photos`,
            `gs://...`).
        output_uri (`str` or `os.PathLike`):
            Where the outputs go: a folder every node can write, or a `pyarrow.fs` URI.
        model (`str` or `os.PathLike`, *optional*, defaults to `"u2net-lite"`):
            A model spec that every node can load (see [`~u2net_hf.new_session`]).
        batch_size (`int`, *optional*, defaults to 4):
            Images per Ray batch and per forward pass.
        num_actors (`int` or `tuple[int, int]`, *optional*, defaults to 1):
            The size of the actor pool, or its `(min, max)` for an autoscaling pool.
        num_cpus_per_actor (`float`, *optional*, defaults to 1):
            CPUs each actor reserves; its session uses as many threads.
        num_gpus_per_actor (`float`, *optional*, defaults to 0):
            GPUs each actor reserves: 1 gives one actor per GPU.
        overwrite (`bool`, *optional*, defaults to `False`):
            Redo outputs that exist.
        address (`str`, *optional*):
            The Ray cluster to run on (`"ray://head:10001"`, `"auto"`); by default the running one, or a new local
            one.
        backend (`str`, *optional*):
            See [`~u2net_hf.new_session`].
        int8 (`bool`, *optional*, defaults to `False`):
            See [`~u2net_hf.new_session`].
        options:
            The options of [`~u2net_hf.remove_background`] (`mask_only`, `bg_color`, `threshold`,
            `compress_level`).

    Returns:
        [`RaySummary`].

    Example:

    ```python
    >>> from u2net_hf.ray import remove_backgrounds_ray

    >>> summary = remove_backgrounds_ray("photos/", "cutouts/", num_actors=2)  # doctest: +SKIP
    >>> len(summary.done), summary.failed  # doctest: +SKIP
    (57, ['photos/scan.jpg: truncated JPEG file ...'])
    ```
    """
    from .background import RemoveOptions

    if "output_format" in options:
        raise ValueError("remove_backgrounds_ray writes PNG files; for other formats, run RemoveBackgrounds yourself.")
    RemoveOptions.create(**options)  # bad options fail here, before a cluster is started
    ray = _import_ray()
    filesystem, input_root, output_root = _open(input_uri, output_uri)
    pairs, ignored = _plan(filesystem, input_root, output_root)
    summary = RaySummary(ignored=ignored)
    todo = []
    for source, destination in pairs:
        if not overwrite and _exists(filesystem, destination):
            summary.skipped.append(source)
        else:
            todo.append({"path": source, "destination": destination})
    if filesystem is None and Path(output_root).is_dir():
        from .files import remove_stale_temporaries

        remove_stale_temporaries(output_root)  # what a killed job left behind
    if not todo:
        return summary

    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)
    actors = (num_actors, num_actors) if isinstance(num_actors, int) else tuple(num_actors)
    threads = max(1, int(num_cpus_per_actor))
    if filesystem is None:
        dataset = ray.data.from_items(todo)  # every node reads the files itself
    else:
        destinations = {item["path"]: item["destination"] for item in todo}
        dataset = ray.data.read_binary_files(
            [item["path"] for item in todo], include_paths=True, filesystem=filesystem
        ).map_batches(lambda batch: {**batch, "destination": np.asarray([destinations[p] for p in batch["path"]])})
    results = dataset.map_batches(
        _RemoveAndWrite,
        fn_constructor_kwargs={
            "filesystem": filesystem,
            "model": None if model is None else os.fspath(model),
            "backend": backend,
            "int8": int8,
            "num_threads": threads,
            "batch_size": batch_size,
            **options,
        },
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(min_size=actors[0], max_size=actors[1]),
        num_cpus=num_cpus_per_actor,
        num_gpus=num_gpus_per_actor,
    )
    for row in results.iter_rows():
        if row[ERROR_COLUMN]:
            summary.failed.append(row[ERROR_COLUMN])
        else:
            summary.done.append(row["path"])
    summary.failed.sort()
    return summary


def _open(input_uri, output_uri):
    """`(filesystem, input root, output root)`: no filesystem for local paths, else the one `pyarrow.fs` opens."""
    input_uri, output_uri = os.fspath(input_uri), os.fspath(output_uri)
    if "://" not in input_uri or input_uri.startswith("file://"):
        local = [uri.removeprefix("file://") for uri in (input_uri, output_uri)]
        if "://" in local[1]:
            raise ValueError(f"{output_uri}: a local input needs a local output folder (or use URIs for both).")
        if not Path(local[0]).is_dir():
            raise ValueError(f"{local[0]}: no such folder.")
        return None, *local
    from pyarrow import fs

    filesystem, input_root = fs.FileSystem.from_uri(input_uri)
    _, output_root = fs.FileSystem.from_uri(output_uri)
    return filesystem, input_root, output_root


def _plan(filesystem, input_root: str, output_root: str) -> tuple[list[tuple[str, str]], int]:
    from .jobs import output_names, plan_folder

    if filesystem is None:
        plan = plan_folder(input_root, output_root)
        ignored = len(plan.ignored) + len(plan.not_regular)  # a FIFO or device is never opened
        return [(str(source), str(destination)) for source, destination in plan.pairs], ignored
    from pyarrow import fs

    from .images import image_extensions

    extensions = image_extensions()
    listed = sorted(
        info.path
        for info in filesystem.get_file_info(fs.FileSelector(input_root, recursive=True))
        if info.type == fs.FileType.File
        and not any(part.startswith(".") for part in PurePosixPath(info.path).relative_to(input_root).parts)
    )
    images = [path for path in listed if PurePosixPath(path).suffix.lower() in extensions]
    relative = [PurePosixPath(path).relative_to(input_root) for path in images]
    outputs = [str(PurePosixPath(output_root) / name) for name in output_names(relative)]
    return list(zip(images, outputs, strict=True)), len(listed) - len(images)


def _exists(filesystem, path: str) -> bool:
    if filesystem is None:
        return Path(path).exists()
    from pyarrow import fs

    return filesystem.get_file_info(path).type != fs.FileType.NotFound


__all__ = ["ERROR_COLUMN", "IMAGE_COLUMNS", "RaySummary", "RemoveBackgrounds", "remove_backgrounds_ray"]
