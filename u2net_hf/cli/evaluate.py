# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""`u2net-hf evaluate`: score a model on a saliency data set with the field's metrics. A thin layer over
[`u2net_hf.metrics.evaluate`]."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..files import write_text_atomically
from . import CommandError

DESCRIPTION = """\
Score a U2-Net model on a saliency data set: MAE, max/mean/adaptive F-measure (beta^2 = 0.3), S-measure,
max/mean/adaptive E-measure and weighted F-measure, computed as PySODMetrics computes them, each prediction at
its ground truth's resolution. Prints a table; --json also writes the results to a file.

--data takes a DUTS-style folder (DUTS-TE/ with DUTS-TE-Image/ and DUTS-TE-Mask/), a folder with images/ and
masks/ paired by file name, a folder saved by `datasets`, or a Hub data set id."""

EPILOG = """\
examples:
  u2net-hf evaluate --data DUTS-TE
  u2net-hf evaluate --model runs/lite-duts --data DUTS-TE --json runs/lite-duts/duts-te.json
  u2net-hf evaluate --model my-org/u2net-portraits --data my-org/portraits --split test"""


def add_parser(subparsers, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="score a model on a saliency data set (MAE, F-measure, S-measure, E-measure, ...)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", required=True, metavar="PATH|DATASET_ID", help="the data set to score on")
    parser.add_argument(
        "--model", default="u2net-lite", metavar="NAME|PATH|REPO_ID", help="the model (default: u2net-lite)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results to this JSON file")
    parser.add_argument("--split", help="split of a Hugging Face data set")
    parser.add_argument("--image-column", help="image column of a Hugging Face data set (default: guessed)")
    parser.add_argument("--mask-column", help="mask column of a Hugging Face data set (default: guessed)")
    parser.add_argument("--image-size", type=int, help="side of the model input (default: the processor's, 320)")
    parser.add_argument("-b", "--batch-size", type=int, default=8, help="images per forward pass (default: 8)")
    parser.add_argument(
        "--device", default="auto", help="cpu, cuda, cuda:1, mps... (default: auto, the first GPU if there is one)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.json and Path(args.json).is_dir():
        raise CommandError(
            f"--json {args.json} is a folder; give a file name such as {Path(args.json) / 'results.json'}."
        )
    from ..metrics import evaluate, format_metrics_table

    try:
        results = evaluate(
            args.model,
            args.data,
            split=args.split,
            image_column=args.image_column,
            mask_column=args.mask_column,
            image_size=args.image_size,
            batch_size=args.batch_size,
            device=None if args.device == "auto" else args.device,
            progress=not args.quiet,
        )
    except ImportError as error:
        raise CommandError(str(error)) from error
    skipped = f", {results['skipped']} unreadable skipped" if results["skipped"] else ""
    print(f"{args.model} on {args.data}: {results['num_images']} images{skipped}")
    print(format_metrics_table({key: value for key, value in results.items() if key not in ("num_images", "skipped")}))
    if args.json:
        # Atomic, so that a script reading the file never sees half of it; the folder is created when missing.
        path = write_text_atomically(
            args.json, json.dumps({"model": str(args.model), "data": str(args.data), **results}, indent=2) + "\n"
        )
        print(f"Results written to {path}")
    return 0
