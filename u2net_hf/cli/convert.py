# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""`u2net-hf convert SRC DEST`: turn a U2-Net checkpoint in any supported layout into a Hub-ready folder."""

from __future__ import annotations

import argparse

from ..conversion import LAYOUT_DESCRIPTIONS


def add_parser(subparsers, name: str) -> argparse.ArgumentParser:
    layouts = "; ".join(f"{layout}: {description}" for layout, description in LAYOUT_DESCRIPTIONS.items())
    parser = subparsers.add_parser(
        name,
        help="convert U2-Net weights (rembg ONNX, upstream or reference .pth) into a Hub-ready model folder",
        description=(
            "Convert a U2-Net checkpoint into a folder with config.json, model.safetensors, preprocessor_config.json "
            f"and a README.md model card. Source layouts: {layouts}. The layout and the variant are detected from "
            "the file; nothing is written to DEST if conversion fails."
        ),
    )
    parser.add_argument("src", metavar="SRC", help="checkpoint file (.onnx or .pth)")
    parser.add_argument("dest", metavar="DEST", help="folder to write (must not exist or be empty)")
    parser.add_argument(
        "--variant", choices=("full", "lite"), help="network size; inferred from the tensor shapes by default"
    )
    parser.add_argument(
        "--from",
        dest="layout",
        choices=sorted(LAYOUT_DESCRIPTIONS),
        help="source layout; detected from the file by default",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace DEST if it already holds a model")
    hub = parser.add_argument_group("pushing the converted folder to the Hub (see `u2net-hf push`)")
    hub.add_argument("--push-to-hub", metavar="REPO_ID", help="push DEST to this Hub repo once it is written")
    hub.add_argument("--private", action="store_true", default=None, help="create the repo as private")
    hub.add_argument("--revision", metavar="BRANCH", help="push to this branch (created if needed)")
    hub.add_argument("--token", help="Hub token with write access; by default HF_TOKEN or the saved login")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from ..conversion import convert_checkpoint

    # Naming the repo in the card makes its load snippets point at where the folder is going.
    card = {"model_id": args.push_to_hub} if args.push_to_hub else None
    folder = convert_checkpoint(
        args.src, args.dest, layout=args.layout, variant=args.variant, overwrite=args.overwrite, model_card=card
    )
    print(f"Wrote {folder}")
    if args.push_to_hub:
        from ..hub import push_to_hub

        commit = push_to_hub(folder, args.push_to_hub, private=args.private, revision=args.revision, token=args.token)
        print(f"{args.push_to_hub}@{args.revision or 'main'}: {commit.commit_url}")
    return 0
