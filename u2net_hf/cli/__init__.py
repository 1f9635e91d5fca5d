# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""The `u2net-hf` command: a thin layer over the library API. Each subcommand lives in its own module with
`add_parser(subparsers)` and `run(args) -> int`."""

from __future__ import annotations

import argparse
import importlib
import sys

# Subcommand name -> module in this package. Modules are imported lazily so `u2net-hf --help` stays fast.
COMMANDS = {
    "remove": "remove",
    "convert": "convert",
    "push": "push",
    "export-onnx": "export_onnx",
    "train": "train",
    "evaluate": "evaluate",
}


class CommandError(Exception):
    """An error to report to the user in one line, without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    from ..version import __version__

    parser = argparse.ArgumentParser(
        prog="u2net-hf",
        description="U2-Net salient-object segmentation: remove backgrounds, convert and push weights, fine-tune.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(f".{module_name}", __name__)
        except ModuleNotFoundError as error:
            if error.name and error.name.endswith(f"cli.{module_name}"):
                continue  # subcommand not part of this build
            raise
        module.add_parser(subparsers, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print("u2net-hf: interrupted", file=sys.stderr)
        return 130
    except (CommandError, OSError, ValueError, TypeError, RuntimeError) as error:
        print(f"u2net-hf {args.command}: error: {one_line(error)}", file=sys.stderr)
        return 1


def one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
