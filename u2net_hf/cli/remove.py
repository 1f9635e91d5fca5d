# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""`u2net-hf remove`: cut the foreground out of an image, a folder of images, or stdin. A thin layer over
[`u2net_hf.background.remove_backgrounds`] that adds file handling: atomic writes, folder walks, a progress
bar, and a summary that keeps one bad file from stopping a long run."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import secrets
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import PIL.Image

from . import CommandError, one_line

# Photo formats looked for in folders (the ones this Pillow cannot open are dropped below). Other files are
# counted as ignored; a single file is tried whatever its extension.
_COMMON_IMAGE_EXTENSIONS = {
    ".apng", ".avif", ".bmp", ".gif", ".jfif", ".jp2", ".jpe", ".jpeg", ".jpg", ".pbm", ".pgm", ".png", ".pnm",
    ".ppm", ".qoi", ".tga", ".tif", ".tiff", ".webp",
}  # fmt: skip
_STDIO = "-"

DESCRIPTION = """\
Remove the background of images with U2-Net: the foreground stays, the background becomes transparent
(or a colour, with --bg-color). Outputs keep the input's exact size and its EXIF orientation.

INPUT is an image file, a folder (searched recursively; the output folder mirrors its tree, one .png per
image), or - to read one image from stdin. OUTPUT defaults to photo_nobg.png beside photo.jpg
(photo_mask.png with --only-mask), to photos_nobg/ beside a folder photos/, and to stdout for stdin. A
file's OUTPUT may end in any format Pillow writes that fits the result (.png and .webp keep transparency).

The alpha is soft: the model's foreground probability. -t/--threshold makes it hard. Existing outputs are
kept (reported as skipped) unless --overwrite; outputs are written to a temporary file and renamed, so an
interrupted run never leaves a half-written image; inputs are never modified."""

EPILOG = """\
examples:
  u2net-hf remove photo.jpg                     # writes photo_nobg.png
  u2net-hf remove photo.jpg cutout.png -om      # the mask alone
  u2net-hf remove photos/ cutouts/ -b 8         # a whole folder tree, 8 images per forward pass
  u2net-hf remove photos/ cutouts/ --int8       # faster on a CPU: int8 under onnxruntime
  u2net-hf remove photo.jpg flat.jpg -bgc 255 255 255
  cat photo.jpg | u2net-hf remove - > cutout.png

The exit status is 0 when no image failed (skipped ones do not count), 1 otherwise."""


def add_parser(subparsers, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="remove the background of images (a file, a folder or stdin)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", metavar="INPUT", help="image file, folder of images, or - for stdin")
    parser.add_argument("output", metavar="OUTPUT", nargs="?", help="output file or folder, or - for stdout")
    parser.add_argument(
        "-m",
        "--model",
        default="u2net-lite",
        help="bundled model name (u2net-lite, the default; u2net-full), a folder saved with save_pretrained, or "
        "a Hub repo id",
    )
    parser.add_argument(
        "-om", "--only-mask", "--mask-only", dest="mask_only", action="store_true", help="write the mask alone"
    )
    parser.add_argument(
        "-bgc",
        "--bg-color",
        nargs="+",
        metavar="COLOR",
        help="put the cut-out on this colour: R G B (opaque), R G B A, or a hex code such as '#ffffff'",
    )
    parser.add_argument(
        "-t",
        "--threshold",
        type=_probability,
        metavar="P",
        help="hard alpha: opaque where the foreground probability exceeds P (0-1), transparent elsewhere",
    )
    parser.add_argument(
        "-b",
        "--batch-size",
        type=_positive_int,
        default=4,
        metavar="N",
        help="images per forward pass, also decoded and composited in parallel (default: 4); memory grows with it: "
        "-b 1 uses least",
    )
    parser.add_argument(
        "--device", default="auto", help="cpu, cuda, cuda:1, mps... (default: auto, the first GPU if there is one)"
    )
    parser.add_argument(
        "--backend",
        choices=("torch", "onnxruntime"),
        help="torch (the default), or onnxruntime: the model's ONNX export, made on first use and cached, faster "
        "on CPUs (needs the onnx extra); the default for an .onnx --model and for --int8",
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="run the int8 ONNX export under onnxruntime: about 2x faster than float32 on CPUs, masks within 0.98 "
        "IoU of float32",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    parser.add_argument(
        "-j",
        "--workers",
        type=_positive_int,
        default=min(8, os.cpu_count() or 1),
        metavar="N",
        help="threads that read and write image files while the model runs (default: %(default)s)",
    )
    parser.add_argument(
        "--compress-level",
        type=int,
        choices=range(10),
        metavar="0-9",
        help="PNG compression with zlib's usual strategy at this level (9: smallest, slowest); by default a fast "
        "run-length strategy whose files are within a few %% of level 6's, written 2-5x faster",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no success messages; errors still print"
    )
    parser.add_argument(
        "-a",
        "--alpha-matting",
        action="store_true",
        help="NOT SUPPORTED (rembg's pymatting refinement); the default alpha is already soft, and --threshold "
        "gives hard edges",
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.alpha_matting:
        raise CommandError(
            "alpha matting (-a) is not supported: the alpha is already soft (the model's foreground probability); "
            "use -t/--threshold for hard edges."
        )
    options = {
        "mask_only": args.mask_only,
        "bg_color": _color_argument(args.bg_color),
        "threshold": args.threshold,
    }
    if options["mask_only"] and options["bg_color"] is not None:
        raise CommandError("--only-mask and --bg-color cannot be combined: a mask has no background to colour.")
    suffix = "_mask" if args.mask_only else "_nobg"
    folder = output_folder = None
    ignored = 0
    if args.input == _STDIO:
        jobs = [_stdin_job(args.output)]
    elif Path(args.input).is_dir():
        folder = Path(args.input)
        output_folder = _folder_output(folder, args.output, suffix)
        jobs, ignored = _folder_jobs(folder, output_folder)
    else:
        jobs = [_file_job(Path(args.input), args.output, suffix)]
    for job in jobs:
        _check_output_format(job, options)

    from transformers.utils import logging as transformers_logging

    from ..background import load_remover

    transformers_logging.disable_progress_bar()  # one progress bar is enough: ours, over images
    if not args.quiet:
        _announce_onnx_exports()
    device = None if args.device == "auto" else args.device
    model, processor = load_remover(args.model, backend=args.backend, int8=args.int8, device=device)
    _apply_thread_policy(model)
    summary = _Runner(model, processor, options, args).run(jobs)
    if folder is None:
        return _report_one(jobs[0], summary, args.quiet)
    return _report_folder(folder, output_folder, len(jobs), ignored, summary, args.quiet)


def _announce_onnx_exports() -> None:
    """The first run of an ONNX backend exports the model (about 15 s for int8): say so rather than seem stuck."""
    import logging

    class Announce(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            print(f"u2net-hf remove: {record.getMessage()}", file=sys.stderr)  # the sys.stderr of the moment

    logger = logging.getLogger("u2net_hf.onnx")
    if not any(type(handler).__name__ == "Announce" for handler in logger.handlers):  # main() may run again
        logger.addHandler(Announce())
    logger.setLevel(logging.INFO)


def _apply_thread_policy(model) -> None:
    """PyTorch on the CPU: as many threads as there are idle cores (see `default_num_threads`), since PyTorch's
    thread pool slows down several times over when it shares busy cores. onnxruntime sets its own per session."""
    import torch

    from ..optimization import default_num_threads

    if isinstance(model, torch.nn.Module) and model.device.type == "cpu":
        torch.set_num_threads(default_num_threads("torch"))


@dataclass
class Job:
    """One image to process. `source` None reads stdin; `destination` None writes stdout."""

    source: Path | None
    destination: Path | None

    @property
    def label(self) -> str:
        return "<stdin>" if self.source is None else str(self.source)


@dataclass
class Summary:
    done: list[Job] = field(default_factory=list)
    skipped: list[Job] = field(default_factory=list)
    failed: list[tuple[Job, str]] = field(default_factory=list)


def _stdin_job(output: str | None) -> Job:
    if output in (None, _STDIO):
        if sys.stdout.isatty():
            raise CommandError("refusing to write a PNG to the terminal: redirect stdout or give OUTPUT.")
        return Job(None, None)
    destination = Path(output)
    if destination.is_dir():
        raise CommandError(f"OUTPUT {destination} is a folder; give a file name such as {destination / 'out.png'}.")
    return Job(None, destination)


def _file_job(source: Path, output: str | None, suffix: str) -> Job:
    if not source.exists():
        raise CommandError(f"{source}: no such file or folder.")
    if output == _STDIO:
        if sys.stdout.isatty():
            raise CommandError("refusing to write a PNG to the terminal: redirect stdout or give an output file.")
        return Job(source, None)
    destination = Path(output) if output is not None else source.with_name(f"{source.stem}{suffix}.png")
    if destination.is_dir():
        raise CommandError(
            f"OUTPUT {destination} is a folder, but INPUT {source} is a file: give the output file's name, such as "
            f"{destination / (source.stem + '.png')}."
        )
    if _same_path(source, destination):
        raise CommandError(f"OUTPUT is INPUT ({source}): inputs are never overwritten; choose another output name.")
    return Job(source, destination)


def _folder_output(folder: Path, output: str | None, suffix: str) -> Path:
    if output == _STDIO:
        raise CommandError(f"INPUT {folder} is a folder: its outputs cannot go to stdout; give an output folder.")
    if output is None:
        absolute = folder.resolve()
        destination = absolute.with_name(absolute.name + suffix)
    else:
        destination = Path(output)
    if destination.exists() and not destination.is_dir():
        raise CommandError(f"INPUT {folder} is a folder, so OUTPUT must be a folder too, but {destination} is a file.")
    if _same_path(folder, destination):
        raise CommandError(f"OUTPUT is INPUT ({folder}): inputs are never overwritten; choose another output folder.")
    if destination.resolve().is_relative_to(folder.resolve()):
        raise CommandError(
            f"OUTPUT {destination} is inside INPUT {folder}: a later run would take the outputs for inputs; choose "
            "a folder outside it."
        )
    return destination


def _folder_jobs(folder: Path, destination: Path) -> tuple[list[Job], int]:
    """One job per image under `folder` (recursively, hidden files and folders left out), in sorted order, each
    writing `<stem>.png` at the same place under `destination`. Returns the jobs and the number of files left
    out because their extension is not an image format."""
    extensions = _image_extensions()
    sources, ignored = [], 0
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            if Path(name).suffix.lower() in extensions:
                sources.append(Path(root) / name)
            else:
                ignored += 1
    # photo.jpg and photo.png would both become photo.png: such files keep their extension in the output name.
    stems = [source.with_suffix("") for source in sources]
    clashing = {stem for stem in stems if stems.count(stem) > 1} if len(set(stems)) < len(stems) else set()
    jobs = []
    for source, stem in zip(sources, stems, strict=True):
        relative = source.relative_to(folder)
        name = relative.name if stem in clashing else relative.stem
        jobs.append(Job(source, destination / relative.parent / f"{name}.png"))
    return jobs, ignored


def _image_extensions() -> set[str]:
    PIL.Image.init()
    readable = {ext for ext, fmt in PIL.Image.registered_extensions().items() if fmt in PIL.Image.OPEN}
    return _COMMON_IMAGE_EXTENSIONS & readable


def _same_path(first: Path, second: Path) -> bool:
    if first.exists() and second.exists():
        return os.path.samefile(first, second)
    return first.resolve() == second.resolve()


def _check_output_format(job: Job, options: dict) -> None:
    if job.destination is None:
        return
    fmt = _output_format(job.destination)
    has_alpha = not options["mask_only"] and (options["bg_color"] is None or len(options["bg_color"]) == 4)
    if fmt == "JPEG" and has_alpha:
        raise CommandError(
            f"{job.destination}: JPEG cannot store transparency; write a .png or .webp, or flatten the cut-out "
            "onto a colour with --bg-color R G B."
        )


def _output_format(path: Path) -> str:
    fmt = PIL.Image.registered_extensions().get(path.suffix.lower())
    if fmt is None or fmt not in PIL.Image.SAVE:
        raise CommandError(f"{path}: unknown output format {path.suffix!r}; name the output .png (or .webp, .tif).")
    return fmt


class _Runner:
    """Reads images in worker threads, runs the model on batches in this thread, writes results in worker
    threads. Files are read ahead and written behind by at most a couple of batches, so memory stays flat."""

    def __init__(self, model, processor, options: dict, args: argparse.Namespace):
        self.model = model
        self.processor = processor
        self.options = options
        self.batch_size = args.batch_size
        self.workers = args.workers
        self.overwrite = args.overwrite
        self.quiet = args.quiet
        from ..background import png_save_options

        self.png_options = png_save_options(args.compress_level)
        self.summary = Summary()

    def run(self, jobs: list[Job]) -> Summary:
        from tqdm.auto import tqdm

        todo = []
        for job in jobs:
            if job.destination is not None and job.destination.exists() and not self.overwrite:
                self.summary.skipped.append(job)
            else:
                todo.append(job)
        show_bar = len(jobs) > 1 and not self.quiet
        with (
            tqdm(total=len(todo), unit="image", disable=None if show_bar else True, file=sys.stderr) as bar,
            ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="u2net-hf-io") as pool,
        ):
            try:
                self._run(todo, pool, bar)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        return self.summary

    def _run(self, jobs: list[Job], pool: ThreadPoolExecutor, bar) -> None:
        loaded = _read_ahead(pool, _load, jobs, depth=self.batch_size)
        writes: deque[tuple[Job, Future]] = deque()
        for batch in _batched(loaded, self.batch_size):
            ready = deque()
            for job, outcome in batch:
                if isinstance(outcome, Exception):
                    self._fail(job, outcome, bar)
                else:
                    ready.append((job, outcome))
            del batch
            for job, result in self._remove(ready, bar):
                writes.append((job, pool.submit(_write, result, job.destination, self.png_options)))
                # Write behind by at most one batch: finished images must not pile up in memory.
                while len(writes) > self.batch_size:
                    self._finish(*writes.popleft(), bar)
        while writes:
            self._finish(*writes.popleft(), bar)

    def _remove(self, ready: deque, bar) -> Iterator[tuple[Job, PIL.Image.Image]]:
        """Cut out the images of `ready`, `(job, image)` pairs, as one batch. `ready` is emptied as the library
        takes the images, so that each decoded image is freed as soon as the library has converted it."""
        from ..background import remove_backgrounds

        jobs = [job for job, _ in ready]
        images = (ready.popleft()[1] for _ in jobs)
        done = 0
        try:
            for result in self._call(remove_backgrounds, images, max(len(jobs), 1)):
                yield jobs[done], result
                done += 1
        except (ValueError, TypeError, RuntimeError) as error:
            remaining = jobs[done:]
            if len(remaining) == 1:
                self._fail(remaining[0], error, bar)
                return
            # Find the culprit: one image at a time, read again, so that the others still get done.
            for job in remaining:
                outcome = _load(job)
                if isinstance(outcome, Exception):
                    self._fail(job, outcome, bar)
                else:
                    yield from self._remove(deque([(job, outcome)]), bar)

    def _call(self, function: Callable, images: list, batch_size: int):
        return function(
            images, model=self.model, image_processor=self.processor, batch_size=batch_size, **self.options
        )

    def _finish(self, job: Job, write: Future, bar) -> None:
        try:
            write.result()
        except (OSError, ValueError) as error:
            self._fail(job, error, bar)
        else:
            self.summary.done.append(job)
            bar.update()

    def _fail(self, job: Job, error: BaseException, bar) -> None:
        message = one_line(error)
        # Library messages already start with the image's name.
        if not message.startswith(job.label):
            message = f"{job.label}: {message}"
        self.summary.failed.append((job, message))
        bar.update()


def _load(job: Job) -> PIL.Image.Image | Exception:
    from ..background import load_image

    try:
        if job.source is None:
            return load_image(sys.stdin.buffer.read(), name="<stdin>")
        return load_image(job.source)
    except (ValueError, TypeError) as error:
        return error


def _write(image: PIL.Image.Image, destination: Path | None, png_options: dict) -> None:
    if destination is None:
        image.save(sys.stdout.buffer, format="PNG", **png_options)
        sys.stdout.buffer.flush()
        return
    try:
        write_atomically(image, destination, **png_options)
    except OSError as error:
        raise OSError(f"{destination}: cannot write it ({error.strerror or one_line(error)}).") from None


def write_atomically(image: PIL.Image.Image, destination: Path, **params) -> None:
    """
    Save `image` to `destination` (format from its extension) so that readers only ever see the complete file:
    write a temporary file in the same folder, then rename it over `destination`. `params` go to
    `PIL.Image.Image.save`; options that the format does not know are ignored by Pillow.
    """
    fmt = _output_format(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.{secrets.token_hex(4)}.tmp")
    # O_EXCL: never follow or reuse an existing file; 0o666 lets the umask decide the final permissions.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            image.save(file, format=fmt, **params)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, destination)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _read_ahead(pool: ThreadPoolExecutor, function: Callable, items: Iterable, depth: int) -> Iterator[tuple]:
    """`(item, function(item))` for each item, in order, computed in `pool` at most `depth` items ahead."""
    pending: deque[tuple] = deque()
    for item in items:
        pending.append((item, pool.submit(function, item)))
        if len(pending) > depth:
            job, future = pending.popleft()
            yield job, future.result()
    while pending:
        job, future = pending.popleft()
        yield job, future.result()


def _batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _report_one(job: Job, summary: Summary, quiet: bool) -> int:
    if summary.failed:
        print(f"u2net-hf remove: error: {summary.failed[0][1]}", file=sys.stderr)
        return 1
    if summary.skipped:
        print(
            f"u2net-hf remove: skipped {job.label}: {job.destination} already exists (pass --overwrite to replace it).",
            file=sys.stderr,
        )
    elif job.destination is not None and not quiet:
        print(f"u2net-hf remove: wrote {job.destination}", file=sys.stderr)
    return 0


def _report_folder(folder: Path, output_folder: Path, total: int, ignored: int, summary: Summary, quiet: bool) -> int:
    lines = []
    if total == 0:
        lines.append(f"u2net-hf remove: no images found in {folder}.")
    elif not quiet or summary.failed:
        counts = f"{len(summary.done)} done, {len(summary.skipped)} skipped, {len(summary.failed)} failed"
        lines.append(f"u2net-hf remove: {counts} (of {total} images in {folder}; outputs in {output_folder})")
    if summary.skipped and not quiet:
        lines.append(f"  skipped {len(summary.skipped)}: output already exists (pass --overwrite to replace)")
    if ignored and not quiet:
        lines.append(f"  ignored {ignored} file(s) whose extension is not an image format")
    lines.extend(f"  failed {message}" for _, message in sorted(summary.failed, key=lambda pair: pair[1]))
    if lines:
        print("\n".join(lines), file=sys.stderr)
    return 1 if summary.failed else 0


def _color_argument(values: list[str] | None) -> tuple[int, ...] | None:
    from ..background import parse_color

    if values is None:
        return None
    if len(values) == 1:
        return parse_color(values[0])
    try:
        numbers = [int(value) for value in values]
    except ValueError:
        raise CommandError(
            f"--bg-color takes R G B or R G B A (integers 0-255) or one hex code, got {' '.join(values)!r}."
        ) from None
    return parse_color(numbers)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value
