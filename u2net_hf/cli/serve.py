# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""`u2net-hf serve` (rembg's `s`): the HTTP server, rembg's API plus the web page (see `u2net_hf.server`)."""

from __future__ import annotations

import argparse
import ipaddress
import os
import re

from ..extras import install_hint
from . import ALIASES, CommandError, positive_int

SERVE_EXTRA_HINT = install_hint("serve")
SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def byte_size(text: str) -> int:
    """`52428800`, `50M`, `50MiB` or `1g` as a number of bytes (binary units)."""
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if not match or int(match[1]) < 1:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (give bytes, or 50M, 1G)")
    return int(match[1]) * SIZE_UNITS[match[2].lower()]


def add_parser(subparsers, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        aliases=sorted(alias for alias, command in ALIASES.items() if command == name),
        help="run the HTTP server: rembg's API (POST /api/remove) and the web page; alias: s (as in rembg)",
        description=(
            "Serve background removal over HTTP, a drop-in for `rembg s`: POST /api/remove (multipart `file`) and "
            "GET /api/remove?url=... with rembg's parameters (model, a, af, ab, ae, om, ppm, bgc, extras), plus "
            "format=png|webp, POST /api/remove/batch (a zip back), GET /healthz, OpenAPI docs at /api and the web "
            "page at / (unless --no-ui). Bad requests get a 4xx with a one-line JSON `detail`. Needs the serve "
            f"extra: {SERVE_EXTRA_HINT}."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine "
                        "only; 0.0.0.0 opens it to the network)")  # fmt: skip
    parser.add_argument("-p", "--port", type=positive_int, default=7000, help="port (default: 7000)")
    parser.add_argument(
        "-m",
        "--model",
        dest="models",
        action="extend",
        nargs="+",
        metavar="SPEC",
        help="models to serve, the first by default (bundled name, folder, Hub repo id, .onnx file; default: "
        "u2net-lite). Requests choose among these by name; rembg's 'u2netp' is u2net-lite",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        metavar="N",
        help="worker processes, each with its own models (default: 1). More processes serve more requests at once "
        "on many-core machines, at the memory cost of one model each",
    )
    parser.add_argument(
        "-t",
        "--threads",
        type=positive_int,
        metavar="N",
        help="removals run at once in each worker (its thread pool; others wait their turn). Default: the number of "
        "CPU cores, at least 2, so that decoding and encoding overlap the model",
    )
    parser.add_argument(
        "--model-threads",
        type=positive_int,
        metavar="N",
        help="CPU threads of each model's forward pass (default: the session's, see u2net-hf remove --help)",
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="serve the int8 ONNX exports under onnxruntime: about 2x faster than float32 on CPUs with VNNI or "
        "ARM64, masks within 0.98 IoU of float32",
    )
    parser.add_argument("--no-ui", action="store_true", help="serve the API only, without the web page at /")
    parser.add_argument(
        "--max-upload-bytes",
        type=byte_size,
        default="50M",
        metavar="SIZE",
        help="largest request body taken, uploads and fetched URLs alike (default: 50M); more answers 413",
    )
    parser.add_argument(
        "--max-pixels",
        type=positive_int,
        metavar="N",
        help="largest image in pixels, read from its header (default: Pillow's limit, about 89 million); more "
        "answers 413",
    )
    parser.add_argument(
        "--max-batch", type=positive_int, default=16, metavar="N", help="most files of one batch request (default: 16)"
    )
    parser.add_argument(
        "-l",
        "--log-level",
        "--log_level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug", "trace"],
        help="uvicorn's log level (default: info)",
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from .. import server
    except ModuleNotFoundError as error:
        raise CommandError(
            f"serving needs the serve extra ({error.name} is not installed): {SERVE_EXTRA_HINT}."
        ) from None
    options = {"max_pixels": args.max_pixels} if args.max_pixels else {}
    settings = server.ServerSettings(
        models=args.models or [server.DEFAULT_MODEL],
        threads=args.threads,
        model_threads=args.model_threads,
        max_upload_bytes=args.max_upload_bytes,
        max_batch=args.max_batch,
        ui=not args.no_ui,
        int8=args.int8,
        **options,
    )
    if settings.ui:
        _require_gradio()
    # Every model loads now, so that a bad spec stops the command with one line instead of failing requests.
    registry = server.SessionRegistry(settings.models, **settings.session_options)
    for spec in settings.models:
        registry.get(spec)
    where = f"http://{_url_host(args.host)}:{args.port}"
    page = "" if args.no_ui else f", page: {where}/"
    print(f"Serving {', '.join(settings.models)} on {where} (API docs: {where}/api{page})", flush=True)
    if not _is_loopback(args.host):
        print(f"Listening on {args.host}: the server is reachable from other machines.")
    config = {"host": args.host, "port": args.port, "log_level": args.log_level}
    if args.workers == 1:
        uvicorn.run(server.create_app(settings, registry), **config)
    else:
        del registry  # each worker process loads its own
        os.environ[server.SETTINGS_VARIABLE] = settings.to_environment()
        uvicorn.run("u2net_hf.server:app_from_environment", factory=True, workers=args.workers, **config)
    return 0


def _require_gradio() -> None:
    try:
        import gradio  # noqa: F401
    except ModuleNotFoundError:
        raise CommandError(f"the web page needs gradio: {SERVE_EXTRA_HINT}, or pass --no-ui.") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "localhost"
    return f"[{host}]" if ":" in host else host
