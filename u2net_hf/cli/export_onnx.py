# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""`u2net-hf export-onnx MODEL OUT.onnx`: export a U2-Net model to ONNX (float32 or int8)."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import CommandError


def add_parser(subparsers, name: str) -> argparse.ArgumentParser:
    from ..onnx import DEFAULT_OPSET

    parser = subparsers.add_parser(
        name,
        help="export a model to ONNX (float32, or int8 with --int8) for onnxruntime",
        description=(
            "Export a U2-Net model to an ONNX file with dynamic batch size, height and width. The graph takes "
            "`pixel_values` and returns `logits` and `side_logits` (before the sigmoid); the model id and the "
            "preprocessing are stored in the file's metadata. The file is checked with onnx.checker and written "
            "atomically."
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="bundled model name (u2net-lite), local folder or Hub repo id")
    parser.add_argument("output", metavar="OUT.onnx", help="ONNX file to write")
    parser.add_argument(
        "--opset", type=int, default=DEFAULT_OPSET, metavar="N", help=f"ONNX opset version (default: {DEFAULT_OPSET})"
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="quantize to int8 (about 2x faster on CPU; masks move slightly, see docs/performance.md)",
    )
    parser.add_argument(
        "--calibration-images",
        nargs="+",
        metavar="IMAGE",
        help="photos to calibrate the int8 model on (default: photos shipped with scikit-image)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace OUT.onnx if it exists")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from ..onnx import export_onnx

    output = Path(args.output)
    if output.is_dir():
        raise CommandError(f"{output} is a folder; give the path of the .onnx file to write.")
    if output.exists() and not args.overwrite:
        raise CommandError(f"{output} already exists; pass --overwrite to replace it.")
    if args.calibration_images and not args.int8:
        raise CommandError("--calibration-images only applies with --int8.")
    for image in args.calibration_images or ():
        if not Path(image).is_file():
            raise CommandError(f"Calibration image {image} does not exist.")
    path = export_onnx(
        args.model, output, opset=args.opset, int8=args.int8, calibration_images=args.calibration_images
    )
    print(f"Wrote {path}")
    return 0
