# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""`u2net-hf remove`: cut the foreground out of an image, a folder of images, or stdin. A thin layer over a
session ([`u2net_hf.new_session`]): it plans the jobs (folder mirroring, output names, skipping what exists),
runs `Session.remove_many(..., errors="return")`, writes each result with the library's atomic writer, and
prints a progress bar and a summary that keeps one bad file from stopping a long run."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import ALIASES, CommandError, number_in_range, one_line, positive_int

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
  u2net-hf remove portrait.jpg cutout.png -a    # alpha matting for hair and soft edges (the matting extra)
  cat photo.jpg | u2net-hf remove - > cutout.png
  u2net-hf remove drop/ cutouts/ --watch        # a drop folder: every image as it lands, until Ctrl-C
  u2net-hf remove clip.mp4 clip.webm            # a video with transparency (.mov too; .mp4 needs -bgc)
  ffmpeg -i clip.mp4 -f rawvideo -pix_fmt rgb24 pipe:1 | u2net-hf remove - out-%04d.png --raw-frames 1280x720

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
        type=positive_int,
        metavar="N",
        help="images per forward pass (default: 1 on onnxruntime, where batches gain nothing and every image of a "
        "batch is held at full size; 4 on torch); decoding and encoding overlap the model either way",
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
        "--num-actors", type=positive_int, default=1, metavar="N", help="Ray actors, one model each (default: 1)"
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
        help="refine the alpha by closed-form matting where the model is unsure, and unmix the edge colours "
        "(rembg's -a, at a bounded cost on large photos; needs the matting extra)",
    )
    parser.add_argument(
        "-af",
        "--alpha-matting-foreground-threshold",
        type=_mask_level,
        default=240,
        metavar="0-255",
        help="matting: mask levels above this are confident foreground (default: 240)",
    )
    parser.add_argument(
        "-ab",
        "--alpha-matting-background-threshold",
        type=_mask_level,
        default=10,
        metavar="0-255",
        help="matting: mask levels below this are confident background (default: 10)",
    )
    parser.add_argument(
        "-ae",
        "--alpha-matting-erode-size",
        type=_non_negative_int,
        default=10,
        metavar="PX",
        help="matting: erode both confident regions by a square of this side (default: 10)",
    )
    parser.add_argument(
        "-ppm",
        "--post-process-mask",
        action="store_true",
        help="remove specks and fill pinholes in the mask, keeping its soft edge (rembg's -ppm makes it hard)",
    )
    parser.add_argument(
        "-dc",
        "--decontaminate",
        action="store_true",
        help="estimate the foreground's own colours on soft edges, without the old background's (rembg's -dc; "
        "needs the matting extra)",
    )
    _add_stream_arguments(parser)
    # The command's own name in messages, whichever alias ran it.
    parser.set_defaults(run=run, command=name)
    return parser


def run(args: argparse.Namespace) -> int:
    from ..background import RemoveOptions

    bg_color = _color_argument(args.bg_color)
    if args.mask_only and bg_color is not None:
        raise CommandError("--only-mask and --bg-color cannot be combined: a mask has no background to colour.")
    options = RemoveOptions.create(
        args.mask_only,
        bg_color,
        args.threshold,
        compress_level=args.compress_level,
        alpha_matting=args.alpha_matting,
        alpha_matting_foreground_threshold=args.alpha_matting_foreground_threshold,
        alpha_matting_background_threshold=args.alpha_matting_background_threshold,
        alpha_matting_erode_size=args.alpha_matting_erode_size,
        post_process_mask=args.post_process_mask,
        foreground_colors="estimate" if args.decontaminate else None,
    )
    suffix = "_mask" if args.mask_only else "_nobg"
    if _is_stream(args):  # --watch, --raw-frames, video files
        return _run_stream(args, options, suffix)
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
        with _warnings_on_one_line():
            summary = _process(_open_session(args), jobs, options, fmt, args)
    if folder is None:
        return _report_one(jobs[0], summary, args.quiet)
    return _report_folder(folder, output_folder, len(jobs), ignored, summary, args.quiet)


@contextlib.contextmanager
def _warnings_on_one_line():
    """The library's warnings (an edge refinement that could not be done as asked names the image and what was
    done instead) as one line each, `u2net-hf remove: warning: ...`, without Python's file and source line."""
    import warnings

    with warnings.catch_warnings():
        warnings.showwarning = lambda message, *_: print(f"u2net-hf remove: warning: {message}", file=sys.stderr)
        yield


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
        batch_size=args.batch_size or 4,
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
    session = new_session(args.model, backend=args.backend, int8=args.int8, device=device)
    if args.batch_size is None:
        # On onnxruntime, batches run no faster than single images (the 24-photo benchmark folder: 26.5 s at -b 1,
        # 25.2 s at 2, 29.2 s at 4) while every image of a batch is held at full size (0.70, 1.04, 1.74 GiB).
        args.batch_size = 1 if session.backend == "onnxruntime" else 4
    return session


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
    # closing(): the generator's threads are shut down here, not whenever it is collected (where a Ctrl-C
    # landing during that shutdown would be printed as "Exception ignored" and lost).
    bar = tqdm(total=len(todo), unit="image", disable=None if show_bar else True, file=sys.stderr)
    with contextlib.closing(results), bar:
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


_probability = number_in_range("a number between 0 and 1", 0, 1, kind=float)
_mask_level = number_in_range("an 8-bit mask level from 0 to 255", 0, 255)
_non_negative_int = number_in_range("a whole number of pixels (0 or more)", low=0)


# --- streams: a watched folder, raw frames from ffmpeg, video files (u2net_hf.watch, .frames, .video) -------------


def _add_stream_arguments(parser: argparse.ArgumentParser) -> None:
    streams = parser.add_argument_group(
        "streams",
        "a watched folder, raw video frames from and to ffmpeg, and video files: an INPUT or OUTPUT named .mp4,\n"
        ".mov, .webm, .mkv or .avi is a video (needs the video extra); .webm and .mov keep the transparency",
    )
    streams.add_argument(
        "--watch",
        action="store_true",
        help="INPUT is a folder to watch: process what it holds, then every image that appears or changes under it "
        "once it is completely written, until Ctrl-C (needs the watch extra)",
    )
    streams.add_argument(
        "--raw-frames",
        metavar="WxH",
        help="INPUT - is raw RGB24 frames of WxH pixels (ffmpeg -f rawvideo -pix_fmt rgb24 pipe:1); OUTPUT is a "
        "printf pattern such as out-%%04d.png, or - for raw frames on stdout (rgba; gray with -om; rgb24 with -bgc "
        "R G B)",
    )
    streams.add_argument(
        "--start-number",
        type=int,
        default=0,
        metavar="N",
        help="--raw-frames: the number of the first frame file (default: 0, as rembg b; ffmpeg starts at 1)",
    )
    streams.add_argument(
        "--no-smoothing",
        dest="smoothing",
        action="store_false",
        help="videos: no temporal smoothing of the masks (on by default: it steadies them where the picture is still)",
    )


def _is_stream(args: argparse.Namespace) -> bool:
    from ..video import is_video_path

    video_input = args.input != _STDIO and not Path(args.input).is_dir() and is_video_path(args.input)
    video_output = args.output not in (None, _STDIO) and is_video_path(args.output)
    return args.watch or args.raw_frames is not None or video_input or video_output


def _run_stream(args: argparse.Namespace, options, suffix: str) -> int:
    from dataclasses import asdict

    if args.ray:
        raise CommandError("--ray runs folders; it does not go with --watch, --raw-frames or video files.")
    if args.watch and args.raw_frames is not None:
        raise CommandError("--watch watches a folder and --raw-frames reads stdin: choose one.")
    removal = {name: value for name, value in asdict(options).items() if name != "output_format"}
    with _warnings_on_one_line():
        if args.watch:
            return _watch(args, removal, suffix)
        if args.raw_frames is not None:
            return _raw_frames(args, removal)
        return _video(args, removal, suffix)


def _watch(args: argparse.Namespace, removal: dict, suffix: str) -> int:
    import signal
    import threading

    from ..watch import watch_folder

    folder = Path(args.input)
    if not folder.is_dir():
        raise CommandError(f"--watch watches a folder, and {_shown(folder)} is not one: give an input folder.")
    output_folder = _folder_output(folder, args.output, suffix)
    _clean_up_after_killed_runs(output_folder)
    session = _open_session(args)

    def show(result) -> None:
        if result.status == "failed":
            print(f"u2net-hf remove: failed {result.message}", file=sys.stderr)
        elif result.status == "done" and not args.quiet:
            print(f"u2net-hf remove: wrote {_shown(result.output)}", file=sys.stderr)

    def listening() -> None:
        if not args.quiet:
            print(f"u2net-hf remove: watching {_shown(folder)} (Ctrl-C stops)", file=sys.stderr, flush=True)

    # SIGTERM (systemd, docker stop) ends the watch as Ctrl-C does: with the summary. Ctrl-C also sets `stop`:
    # a KeyboardInterrupt raised while a finalizer runs is printed and dropped, and the watch must end anyway.
    stop = threading.Event()

    def interrupt(*_) -> None:
        stop.set()
        raise KeyboardInterrupt

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, lambda *_: stop.set()),
        signal.SIGINT: signal.signal(signal.SIGINT, interrupt),
    }
    try:
        summary = watch_folder(
            session,
            folder,
            output_folder,
            batch_size=args.batch_size,
            overwrite=args.overwrite,
            stop=stop,
            on_result=show,
            on_ready=listening,
            **removal,
        )
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    lines = []
    if not args.quiet or summary.failed:
        counts = f"{len(summary.done)} done, {len(summary.skipped)} skipped, {len(summary.failed)} failed"
        lines.append(
            f"u2net-hf remove: stopped watching {_shown(folder)} after {summary.seconds:.0f} s: {counts} (outputs in "
            f"{_shown(output_folder)})"
        )
    lines.extend(f"  failed {message}" for message in sorted(summary.failed.values()))
    if lines:
        print("\n".join(lines), file=sys.stderr)
    return 1 if summary.failed else 0


def _raw_frames(args: argparse.Namespace, removal: dict) -> int:
    from tqdm.auto import tqdm

    from ..frames import check_frame_pattern, parse_frame_size, raw_pixel_format, remove_raw_frames

    if args.input != _STDIO:
        raise CommandError(
            "--raw-frames reads the frames from stdin: give - as INPUT (ffmpeg -i clip.mp4 -f rawvideo -pix_fmt rgb24 "
            "pipe:1 | u2net-hf remove - out-%04d.png --raw-frames WxH)."
        )
    if sys.stdin is None or sys.stdin.isatty():
        raise CommandError("--raw-frames reads frames from stdin, but stdin is a terminal: pipe them in from ffmpeg.")
    size = parse_frame_size(args.raw_frames)
    pattern = None if args.output in (None, _STDIO) else args.output
    if pattern is None and sys.stdout.isatty():
        raise CommandError(
            "refusing to write raw frames to the terminal: pipe them into ffmpeg, or give a file pattern such as "
            "out-%04d.png."
        )
    if pattern is not None:
        check_frame_pattern(pattern)
        first = Path(pattern % args.start_number)
        if first.exists() and not args.overwrite:
            raise CommandError(f"{_shown(first)} already exists: pass --overwrite to replace the frames.")
        _clean_up_after_killed_runs(first.parent if first.parent.is_dir() else first)
    session = _open_session(args)
    with tqdm(unit="frame", disable=None if not args.quiet else True, file=sys.stderr) as bar:
        count = remove_raw_frames(
            session,
            sys.stdin.buffer,
            size,
            sys.stdout.buffer if pattern is None else pattern,
            batch_size=args.batch_size,
            start_number=args.start_number,
            on_frame=lambda _: bar.update(),
            **removal,
        )
    if not args.quiet:
        if pattern is None:
            where = f"to stdout (raw {raw_pixel_format(removal['mask_only'], removal['bg_color'])})"
        else:
            last = args.start_number + count - 1
            where = f"({_shown(pattern % args.start_number)} to {_shown(Path(pattern % last).name)})"
        print(f"u2net-hf remove: wrote {count} frames {where}", file=sys.stderr)
    return 0


def _video(args: argparse.Namespace, removal: dict, suffix: str) -> int:
    from ..video import DEFAULT_SMOOTHING, VIDEO_EXTENSIONS, is_video_path, remove_video

    kinds = " ".join(VIDEO_EXTENSIONS)
    if args.input == _STDIO or not is_video_path(args.input):
        raise CommandError(f"OUTPUT {args.output} is a video, so INPUT must be one too ({kinds}), not {args.input}.")
    source = Path(args.input)
    if not source.exists():
        raise CommandError(f"{_shown(source)}: no such file or folder.")
    if args.output == _STDIO:
        raise CommandError(
            "a video is written to a file, not to stdout: give OUTPUT such as clip.webm (or pipe raw frames with "
            "ffmpeg and --raw-frames)."
        )
    destination = Path(args.output) if args.output else source.with_name(f"{source.stem}{suffix}.webm")
    if not is_video_path(destination):
        raise CommandError(
            f"INPUT {_shown(source)} is a video: write a video ({kinds}; .webm and .mov keep the transparency), not "
            f"{_shown(destination)}."
        )
    if _same_path(source, destination):
        raise CommandError(f"OUTPUT is INPUT ({source}): inputs are never overwritten; choose another output name.")
    if destination.exists() and not args.overwrite:
        print(
            f"u2net-hf remove: skipped {_shown(source)}: {_shown(destination)} already exists (pass --overwrite to "
            "replace it).",
            file=sys.stderr,
        )
        return 0
    _clean_up_after_killed_runs(destination)
    result = remove_video(
        _open_session(args),
        source,
        destination,
        batch_size=args.batch_size,
        smoothing=DEFAULT_SMOOTHING if args.smoothing else 0,
        progress=not args.quiet,
        **removal,
    )
    if not args.quiet:
        width, height = result.size
        sound = f", audio {result.audio}" if result.audio else ""
        print(
            f"u2net-hf remove: wrote {_shown(destination)} ({result.frames} frames, {width}x{height}, "
            f"{float(result.fps):g} fps, {result.video_codec} {result.pixel_format}{sound})",
            file=sys.stderr,
        )
    return 0
