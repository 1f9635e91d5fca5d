# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""`u2net-hf b W H -o out-%03u.png`: rembg's `b` command as its users type it in their ffmpeg pipes. It runs
`u2net-hf remove - PATTERN --raw-frames WxH` (see `u2net_hf.frames`); every other option is remove's."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
rembg's `b`: raw RGB24 frames of exactly W x H pixels on stdin, as ffmpeg sends them, each written as a numbered
image file (-o, a printf pattern) or, without -o, as a raw frame on stdout (rgba; gray with -om; rgb24 with
-bgc R G B), so that a second ffmpeg can encode them (rembg writes PNGs back to back there instead). Frames go
through the model in batches (-b). The same as `u2net-hf remove - PATTERN --raw-frames WxH`; options of
`u2net-hf remove` (-m, -om, -bgc, -b, --int8, -a, ...) go after W H."""

EPILOG = """\
examples:
  ffmpeg -i clip.mp4 -f rawvideo -pix_fmt rgb24 pipe:1 | u2net-hf b 1280 720 -o frames/out-%03u.png
  ffmpeg -i clip.mp4 -f rawvideo -pix_fmt rgb24 pipe:1 | u2net-hf b 1280 720 \\
    | ffmpeg -f rawvideo -pix_fmt rgba -s 1280x720 -r 30 -i pipe:0 -c:v libvpx-vp9 -pix_fmt yuva420p cutout.webm"""

_OUTPUT_FLAGS = ("-o", "--output-specifier", "--output_specifier")


def add_parser(subparsers, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="rembg's b: remove the background of raw RGB24 video frames from stdin (ffmpeg pipes)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("width", metavar="W", help="frame width in pixels")
    parser.add_argument("height", metavar="H", help="frame height in pixels")
    parser.add_argument(
        *_OUTPUT_FLAGS,
        dest="output_specifier",
        metavar="PATTERN",
        help="printf pattern of the frame files, such as out-%%03u.png; without it, raw frames go to stdout",
    )
    parser.add_argument("remove_options", nargs=argparse.REMAINDER, metavar="...", help="options of u2net-hf remove")
    parser.set_defaults(run=run, command="remove")
    return parser


def run(args: argparse.Namespace) -> int:
    from . import main

    pattern, rest = args.output_specifier, list(args.remove_options)
    # Options after W H all land in the remainder, -o among them.
    for flag in _OUTPUT_FLAGS:
        while flag in rest[:-1]:
            at = rest.index(flag)
            pattern = rest[at + 1]
            del rest[at : at + 2]
    return main(["remove", "-", pattern or "-", "--raw-frames", f"{args.width}x{args.height}", *rest])
