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
    "serve": "serve",
    "b": "frames",  # rembg's `b W H -o PATTERN`: remove - PATTERN --raw-frames WxH
}
# rembg's subcommand names, run by ours: `rembg i FILE`, `rembg p FOLDER` and `rembg s`.
ALIASES = {"i": "remove", "p": "remove", "s": "serve"}


class CommandError(Exception):
    """An error to report to the user in one line, without a traceback."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, but a bad argument gets one line, `u2net-hf remove: error: ...`, and exit status 1 (the
    status of every other error), not the usage text and status 2. Subcommand parsers are made of this class too
    (argparse gives subparsers the class of their parent)."""

    def error(self, message: str):
        self.exit(1, argument_error(self.prog, message))


def argument_error(prog: str, message: str) -> str:
    """The one line that reports a bad argument of `prog` (`"u2net-hf remove"`)."""
    return f"{prog}: error: {one_line(message)} (see {prog} --help)\n"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """
    The `u2net-hf` parser.

    Args:
        command (`str`, *optional*):
            A subcommand (or alias) about to run: only its module is imported, so that its `--help` and argument
            errors do not import the others' dependencies. All of them by default (`u2net-hf --help` lists them).
    """
    from ..version import __version__

    parser = ArgumentParser(
        prog="u2net-hf",
        description="U2-Net salient-object segmentation: remove backgrounds, convert and push weights, fine-tune.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    command = ALIASES.get(command, command)
    for name, module_name in COMMANDS.items():
        if command in COMMANDS and name != command:
            continue
        try:
            module = importlib.import_module(f".{module_name}", __name__)
        except ModuleNotFoundError as error:
            if error.name and error.name.endswith(f"cli.{module_name}"):
                continue  # subcommand not part of this build
            raise
        module.add_parser(subparsers, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv[0] if argv else None)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # argparse would blame the top-level parser; the user typed them for the subcommand.
        parser.exit(1, argument_error(f"u2net-hf {args.command}", f"unrecognized arguments: {' '.join(unknown)}"))
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print("u2net-hf: interrupted", file=sys.stderr)
        return 130
    except (CommandError, OSError, ValueError, TypeError, RuntimeError) as error:
        print(f"u2net-hf {args.command}: error: {one_line(error)}", file=sys.stderr)
        return 1


def number_in_range(what: str, low: float | None = None, high: float | None = None, kind: type = int):
    """
    An argparse type: a number of `kind` from `low` to `high` (either open when `None`), or a one-line argument
    error, "expected {what}, got ...".

    Example:

    ```python
    >>> from u2net_hf.cli import number_in_range
    >>> number_in_range("an 8-bit mask level from 0 to 255", 0, 255)("240")
    240
    ```
    """

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not ((low is None or value >= low) and (high is None or value <= high)):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
        return value

    return parse


positive_int = number_in_range("a positive integer", low=1)


def one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
