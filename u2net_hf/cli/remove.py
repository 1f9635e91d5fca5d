# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""`u2net-hf remove`: cut the foreground out of an image, a folder of images, or stdin. A thin layer over a
session ([`u2net_hf.new_session`]): it plans the jobs (folder mirroring, output names, skipping what exists),
runs `Session.remove_many(..., errors="return")`, writes each result with the library's atomic writer, and
prints a progress bar and a summary that keeps one bad file from stopping a long run."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import ALIASES, CommandError, one_line

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
  u2net-hf remove photos/ cutouts/ --ray --num-actors 4   # on Ray Data (a local or --ray-address cluster)
  u2net-hf remove photo.jpg flat.jpg -bgc 255 255 255
  cat photo.jpg | u2net-hf remove - > cutout.png

The exit status is 0 when no image failed (skipped ones do not count), 1 otherwise."""


def add_parser(subparsers, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        # rembg's spellings (`rembg i FILE`, `rembg p FOLDER`); here each takes a file, a folder or stdin.
        aliases=sorted(alias for alias, command in ALIASES.items() if command == name),
        help="remove the background of images (a file, a folder or stdin); aliases: i, p (as in rembg)",
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
        "--bgcolor",  # rembg's spelling
        dest="bg_color",
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
        "--ray",
        action="store_true",
        help="run a folder on Ray Data: a pool of actors, one model each (needs the ray extra); same outputs",
    )
    parser.add_argument(
        "--ray-address", metavar="ADDR", help="the Ray cluster to run on (ray://head:10001, auto); default: local"
    )
    parser.add_argument(
        "--num-actors", type=_positive_int, default=1, metavar="N", help="Ray actors, one model each (default: 1)"
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
    # The command's own name in messages, whichever alias ran it.
    parser.set_defaults(run=run, command=name)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.alpha_matting:
        raise CommandError(
            "alpha matting (-a) is not supported: the alpha is already soft (the model's foreground probability); "
            "use -t/--threshold for hard edges."
        )
    from ..background import RemoveOptions

    bg_color = _color_argument(args.bg_color)
    if args.mask_only and bg_color is not None:
        raise CommandError("--only-mask and --bg-color cannot be combined: a mask has no background to colour.")
    options = RemoveOptions.create(args.mask_only, bg_color, args.threshold, compress_level=args.compress_level)
    suffix = "_mask" if args.mask_only else "_nobg"
    folder = output_folder = None
    ignored = ([], [])
    if args.input == _STDIO:
        jobs = [_stdin_job(args.output)]
    elif Path(args.input).is_dir():
        folder = Path(args.input)
        output_folder = _folder_output(folder, args.output, suffix)
        jobs, ignored = _folder_jobs(folder, output_folder)
        _clean_up_after_killed_runs(output_folder)
    else:
        jobs = [_file_job(Path(args.input), args.output, suffix)]
    if folder is None and jobs[0].destination is not None:
        _clean_up_after_killed_runs(jobs[0].destination)
    fmt = "PNG" if folder is not None else _output_format(jobs[0], options)  # folder outputs are .png

    if args.ray:
        if folder is None:
            raise CommandError("--ray runs folders: give an input folder and an output folder.")
        summary = _process_on_ray(folder, output_folder, options, args)
    else:
        summary = _process(_open_session(args), jobs, options, fmt, args)
    if folder is None:
        return _report_one(jobs[0], summary, args.quiet)
    return _report_folder(folder, output_folder, len(jobs), ignored, summary, args.quiet)


def _process_on_ray(folder: Path, output_folder: Path, options, args: argparse.Namespace) -> Summary:
    """The folder on a pool of Ray actors (`u2net_hf.ray.remove_backgrounds_ray`): the same plan, outputs and
    messages as a local run."""
    from dataclasses import asdict

    from ..ray import remove_backgrounds_ray

    ray_options = {name: value for name, value in asdict(options).items() if name != "output_format"}
    result = remove_backgrounds_ray(
        folder,
        output_folder,
        model=args.model,
        batch_size=args.batch_size,
        num_actors=args.num_actors,
        overwrite=args.overwrite,
        address=args.ray_address,
        backend=args.backend,
        int8=args.int8,
        **ray_options,
    )
    return Summary(
        done=[Job(Path(path), None) for path in result.done],
        skipped=[Job(Path(path), None) for path in result.skipped],
        failed=[(Job(Path(message.split(": ", 1)[0]), None), message) for message in result.failed],
    )


def _clean_up_after_killed_runs(output: Path) -> None:
    """A run killed mid-write leaves its temporary file (never a partial output): the next run into the same
    folder, or writing the same file, removes it (only names of our temporary pattern)."""
    from ..files import remove_stale_temporaries, remove_stale_temporaries_of

    if output.is_dir():
        remove_stale_temporaries(output)
    else:
        remove_stale_temporaries_of(output)


def _open_session(args: argparse.Namespace):
    """Load the model once, up front, so that a model that cannot be loaded stops the run before any image is
    read."""
    from ..sessions import new_session  # loads quietly: no transformers progress bars or load reports

    if not args.quiet:
        _announce_onnx_exports()
    device = None if args.device == "auto" else args.device
    return new_session(args.model, backend=args.backend, int8=args.int8, device=device)


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


@dataclass
class Job:
    """One image to process. `source` None reads stdin; `destination` None writes stdout."""

    source: Path | None
    destination: Path | None

    @property
    def label(self) -> str:
        return "<stdin>" if self.source is None else _shown(self.source)


def _shown(path: Path) -> str:
    """A path as messages show it: control characters escaped, so one message stays on one line."""
    from ..images import printable_name

    return printable_name(path)


@dataclass
class Summary:
    done: list[Job] = field(default_factory=list)
    skipped: list[Job] = field(default_factory=list)
    failed: list[tuple[Job, str]] = field(default_factory=list)


def _stdin_job(output: str | None) -> Job:
    if sys.stdin is None or sys.stdin.isatty():
        raise CommandError("INPUT is - but stdin is a terminal: pipe an image in (cat photo.jpg | u2net-hf remove -).")
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
        raise CommandError(f"{_shown(source)}: no such file or folder.")
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


def _folder_jobs(folder: Path, destination: Path) -> tuple[list[Job], tuple[list[Path], list[Path]]]:
    """One job per image under `folder`, writing the mirrored output under `destination` (see
    `u2net_hf.jobs.plan_folder`), and the files left out: not images, and not regular files."""
    from ..jobs import plan_folder

    plan = plan_folder(folder, destination)
    return [Job(source, output) for source, output in plan.pairs], (plan.ignored, plan.not_regular)


def _same_path(first: Path, second: Path) -> bool:
    if first.exists() and second.exists():
        return os.path.samefile(first, second)
    return first.resolve() == second.resolve()


def _output_format(job: Job, options) -> str:
    """The format `job` writes: from its file name (stdout gets PNG); refuses one that cannot hold the result."""
    from ..images import output_format

    if job.destination is None:
        return "PNG"
    fmt = output_format(job.destination)
    if fmt == "JPEG" and options.has_alpha:
        raise CommandError(
            f"{job.destination}: JPEG cannot store transparency; write a .png or .webp, or flatten the cut-out "
            "onto a colour with --bg-color R G B."
        )
    return fmt


def _process(session, jobs: list[Job], options, fmt: str, args: argparse.Namespace) -> Summary:
    """Every job not skipped goes through the session as one lazy stream; each result, already encoded in `fmt`,
    is written as it comes, and a bad image is reported without stopping the others."""
    from dataclasses import asdict

    from tqdm.auto import tqdm

    from ..sessions import RemovalError

    summary = Summary()
    todo = []
    for job in jobs:
        if job.destination is not None and job.destination.exists() and not args.overwrite:
            summary.skipped.append(job)
        else:
            todo.append(job)
    results = session.remove_many(
        (_source(job) for job in todo),
        batch_size=args.batch_size,
        errors="return",
        **{**asdict(options), "output_format": fmt},
    )
    show_bar = len(jobs) > 1 and not args.quiet
    with tqdm(total=len(todo), unit="image", disable=None if show_bar else True, file=sys.stderr) as bar:
        for job, result in zip(todo, results):
            if isinstance(result, RemovalError):
                # The library names an image by its path; stdin, which it knows as bytes, by our label.
                summary.failed.append(
                    (job, str(result) if result.name == job.label else f"{job.label}: {result.reason}")
                )
            else:
                _write(job, result, summary)
            bar.update()
    return summary


def _source(job: Job):
    from ..images import read_limited

    # stdin is read to its end, but never past the input size limit: an endless stream stops with an error.
    return read_limited(sys.stdin.buffer, "<stdin>") if job.source is None else job.source


def _write(job: Job, data: bytes, summary: Summary) -> None:
    from ..images import save_image

    if job.destination is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        summary.done.append(job)
        return
    try:
        save_image(data, job.destination)
    except (OSError, ValueError) as error:
        summary.failed.append((job, f"{job.label}: {one_line(error)}"))
    else:
        summary.done.append(job)


def _report_one(job: Job, summary: Summary, quiet: bool) -> int:
    if summary.failed:
        print(f"u2net-hf remove: error: {summary.failed[0][1]}", file=sys.stderr)
        return 1
    if summary.skipped:
        print(
            f"u2net-hf remove: skipped {job.label}: {_shown(job.destination)} already exists (pass --overwrite to "
            "replace it).",
            file=sys.stderr,
        )
    elif job.destination is not None and not quiet:
        print(f"u2net-hf remove: wrote {_shown(job.destination)}", file=sys.stderr)
    return 0


def _report_folder(
    folder: Path,
    output_folder: Path,
    total: int,
    left_out: tuple[list[Path], list[Path]],
    summary: Summary,
    quiet: bool,
) -> int:
    ignored, special = left_out
    lines = []
    if total == 0:
        lines.append(f"u2net-hf remove: no images found in {_shown(folder)}.")
    elif not quiet or summary.failed:
        counts = f"{len(summary.done)} done, {len(summary.skipped)} skipped, {len(summary.failed)} failed"
        lines.append(
            f"u2net-hf remove: {counts} (of {total} images in {_shown(folder)}; outputs in {_shown(output_folder)})"
        )
    if summary.skipped and not quiet:
        lines.append(f"  skipped {len(summary.skipped)}: output already exists (pass --overwrite to replace)")
    if special and not quiet:
        # Named one by one: a FIFO or a device (or a broken link) among photos is a surprise worth seeing.
        lines.extend(
            f"  skipped {_shown(path)}: not a regular file (a FIFO, socket, device or broken link); not read"
            for path in special
        )
    if ignored and not quiet:
        lines.append(f"  ignored {len(ignored)} file(s) whose extension is not an image format")
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
