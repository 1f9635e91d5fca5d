# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""`u2net-hf push FOLDER REPO_ID`: push a model folder to the Hugging Face Hub in one commit."""

from __future__ import annotations

import argparse

from . import CommandError

DESCRIPTION = """\
Push a U2-Net model folder to the Hugging Face Hub in one commit: model.safetensors, config.json,
preprocessor_config.json, a model card (README.md) and the model's code, so that transformers loads the repo with
trust_remote_code=True and no u2net-hf (--no-code leaves the code out: the repo then needs `import u2net_hf`, and
its card says so). Unchanged files are not uploaded again; when nothing changed, no commit is made. Pickled
weights (*.bin, *.pt) on the branch are deleted by the same commit. Needs a token with write access:
`hf auth login`, HF_TOKEN or --token."""

EPILOG = """\
A README.md that `u2net-hf convert` or `train` wrote in FOLDER is pushed with its "How to use" section pointed at
REPO_ID; a card of your own is pushed as it is. Card options (--base-model, --dataset, --metric, --license)
generate the card from the config and them instead.

examples:
  u2net-hf push runs/finetuned my-org/u2net-lite-portraits --private
  u2net-hf push runs/finetuned my-org/u2net-lite-portraits --revision dev --metric mae=0.031 --dataset my-org/portraits
  u2net-hf push runs/finetuned my-org/u2net-lite-portraits --no-code   # loads only with `import u2net_hf`"""


def add_parser(subparsers, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="push a model folder to the Hugging Face Hub (one commit, safetensors only)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "folder", metavar="FOLDER", help="a folder saved with save_pretrained, or a bundled model name"
    )
    parser.add_argument("repo_id", metavar="REPO_ID", help="the Hub repo to push to, e.g. my-org/u2net-lite")
    parser.add_argument("--private", action="store_true", help="create the repo as private (if it does not exist)")
    parser.add_argument("--revision", metavar="BRANCH", help="branch to push to, created from main if needed")
    parser.add_argument("--commit-message", metavar="TEXT", help="the commit title")
    code = parser.add_mutually_exclusive_group()
    code.add_argument(
        "--with-code",
        dest="with_code",
        action="store_true",
        default=True,
        help="push the model code, for trust_remote_code=True without u2net-hf (the default)",
    )
    code.add_argument(
        "--no-code",
        dest="with_code",
        action="store_false",
        help="leave the code out: the repo then loads only where u2net-hf is installed and imported",
    )
    parser.add_argument("--token", help="Hub token with write access (default: HF_TOKEN or `hf auth login`)")
    card = parser.add_argument_group("model card (given any of these, README.md is generated)")
    card.add_argument("--base-model", metavar="REPO_ID", help="the Hub model this one was fine-tuned from")
    card.add_argument(
        "--dataset", metavar="DATASET_ID", action="append", dest="datasets", help="training dataset (repeatable)"
    )
    card.add_argument(
        "--metric",
        metavar="NAME=VALUE",
        action="append",
        dest="metrics",
        type=parse_metric,
        help="evaluation result, e.g. mae=0.031 (repeatable)",
    )
    card.add_argument("--license", help="licence identifier for the card (default: apache-2.0)")
    parser.set_defaults(run=run)
    return parser


def parse_metric(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    try:
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=NUMBER, e.g. mae=0.031") from None


def model_card_options(args: argparse.Namespace) -> dict:
    card = {
        "base_model": args.base_model,
        "datasets": args.datasets,
        "metrics": dict(args.metrics) if args.metrics else None,
        "license": args.license,
    }
    return {key: value for key, value in card.items() if value is not None}


def run(args: argparse.Namespace) -> int:
    from ..hub import push_to_hub
    from ..pretrained import is_hub_id

    if not is_hub_id(args.repo_id):
        raise CommandError(f"REPO_ID {args.repo_id!r}: expected namespace/name, e.g. my-org/u2net-lite.")
    commit = push_to_hub(
        args.folder,
        args.repo_id,
        revision=args.revision,
        private=True if args.private else None,
        commit_message=args.commit_message,
        with_code=args.with_code,
        token=args.token,
        **model_card_options(args),
    )
    print(f"{args.repo_id}@{args.revision or 'main'}: {commit.commit_url}")
    return 0
