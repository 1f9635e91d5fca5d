# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""The HTTP server of `u2net-hf serve`: rembg's API (`POST /api/remove`, `GET /api/remove?url=...`, the same
parameter names and defaults), plus a batch endpoint, a health check and the web page, on FastAPI.

A thin layer: it reads the parameters, runs [`~u2net_hf.sessions.Session.remove`] in a thread pool of its own (the
event loop never waits on a model), and answers the image. Sessions come from a [`SessionRegistry`]: one per
model the server was started with, made once under a lock and shared by every request. Every bad request gets a
4xx with a one-line JSON `detail`; nothing answers a traceback.

Needs the `serve` extra: `pip install -e ".[serve]"` in a clone (see [`~u2net_hf.extras.install_hint`]).
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import os
import re
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Annotated, Literal

import PIL.Image
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from .background import parse_color
from .extras import install_hint
from .images import printable_name
from .pretrained import DEFAULT_MODEL as PRETRAINED_DEFAULT_MODEL
from .pretrained import REMBG_MODEL_NAMES
from .url_fetch import FetchError, fetch_url
from .version import __version__

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7000
DEFAULT_MODEL = PRETRAINED_DEFAULT_MODEL
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024**2
# Pillow's own decompression-bomb warning threshold (about 89 megapixels): far above any camera's photo.
# (None when an application switched Pillow's limit off: the server keeps a limit of its own then.)
DEFAULT_MAX_PIXELS = PIL.Image.MAX_IMAGE_PIXELS or 89_478_485
DEFAULT_MAX_BATCH = 16
SERVE_EXTRA_HINT = install_hint("serve")
SETTINGS_VARIABLE = "U2NET_HF_SERVE_SETTINGS"
# rembg's model names that are ours under another name (the official U2-NetP and U2-Net weights).
REMBG_ALIASES = REMBG_MODEL_NAMES
# rembg's other models: refused by name, never replaced by another model without a word.
REMBG_ONLY_MODELS = {
    "u2net_human_seg", "u2net_cloth_seg", "u2net_custom", "silueta", "isnet-general-use", "isnet-anime",
    "isnet_custom", "sam", "birefnet-general", "birefnet-general-lite", "birefnet-portrait", "birefnet-dis",
    "birefnet-hrsod", "birefnet-cod", "birefnet-massive", "bria-rmbg", "ben2-base", "dis_custom", "ben_custom",
}  # fmt: skip
# The keys `extras` may hold: our removal options that rembg's API has no parameter for. rembg passes extras to
# its session (`model_path`, `api_key`, prompts): here a request never names a file or changes the model.
EXTRAS_OPTIONS = {"threshold", "compress_level"}
MEDIA_TYPES = {"png": "image/png", "webp": "image/webp"}


class RequestError(Exception):
    """A request the server refuses: answered with `status` and `{"detail": message}` (one line)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = " ".join(message.split())


class ModelNotServed(ValueError):
    """A model name that this server does not run (unknown, or one of rembg's own models)."""


@dataclass
class ServerSettings:
    """
    What a server runs with; the flags of `u2net-hf serve`.

    Args:
        models (`list[str]`, *optional*, defaults to `["u2net-lite"]`):
            The model specs served (bundled names, folders, Hub repo ids, `.onnx` files); the first is the
            default. Requests pick among these by name (rembg's `u2netp` names `u2net-lite`), never by path.
        threads (`int`, *optional*):
            How many removals run at once (the server's thread pool; more requests wait their turn). By default
            the number of CPU cores, at least 2, so that decoding and encoding overlap the model.
        model_threads (`int`, *optional*):
            The CPU threads of each model (see [`~u2net_hf.new_session`]); the session's default otherwise.
        max_upload_bytes (`int`, *optional*, defaults to 50 MiB):
            The largest request body taken (uploads and fetched URLs alike): more answers 413.
        max_pixels (`int`, *optional*, defaults to `PIL.Image.MAX_IMAGE_PIXELS`):
            The largest image, in pixels, read from its header before anything is decoded: more answers 413.
        max_batch (`int`, *optional*, defaults to 16):
            The most files of one `POST /api/remove/batch`.
        ui (`bool`, *optional*, defaults to `True`):
            Mount the web page at `/`.
        int8 (`bool`, *optional*, defaults to `False`):
            Serve the models' int8 ONNX exports under onnxruntime (see [`~u2net_hf.new_session`]): faster on CPUs
            with int8 dot products, masks within 0.98 IoU of float32.
    """

    models: list[str] = field(default_factory=lambda: [DEFAULT_MODEL])
    threads: int | None = None
    model_threads: int | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_batch: int = DEFAULT_MAX_BATCH
    ui: bool = True
    int8: bool = False

    def __post_init__(self):
        self.models = list(dict.fromkeys(self.models or [DEFAULT_MODEL]))
        for name in ("threads", "model_threads", "max_upload_bytes", "max_pixels", "max_batch"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")

    @property
    def pool_size(self) -> int:
        return self.threads or max(2, os.cpu_count() or 1)

    @property
    def session_options(self) -> dict:
        """The options of [`~u2net_hf.new_session`] that the server's sessions are made with."""
        return {"num_threads": self.model_threads, "int8": self.int8}

    def to_environment(self) -> str:
        """The settings as JSON, for worker processes started by uvicorn (see [`app_from_environment`])."""
        return json.dumps(asdict(self))


class SessionRegistry:
    """
    The sessions of a server: one per model spec it serves, made on first use under a lock (so exactly once,
    however many requests ask at the same moment) and shared by every request after.

    Args:
        models (`list[str]`, *optional*, defaults to `["u2net-lite"]`):
            The specs served; the first is the default.
        **session_options:
            Passed to [`~u2net_hf.new_session`] (`num_threads`, `backend`, `device`, `int8`).

    Example:

    ```python
    >>> from u2net_hf.server import SessionRegistry

    >>> registry = SessionRegistry(["u2net-lite"])
    >>> registry.resolve("u2netp"), registry.get("u2netp") is registry.get()
    ('u2net-lite', True)
    ```
    """

    def __init__(self, models: list[str] | None = None, **session_options):
        self.models = list(dict.fromkeys(models or [DEFAULT_MODEL]))
        self.session_options = {name: value for name, value in session_options.items() if value is not None}
        self._sessions: dict = {}
        self._lock = threading.Lock()

    @property
    def default(self) -> str:
        return self.models[0]

    @property
    def loaded(self) -> list[str]:
        return [spec for spec in self.models if spec in self._sessions]

    def resolve(self, name: str | None = None) -> str:
        """
        The served spec a request's model name stands for: the default for `None` or `""`, a served spec as it
        is, rembg's alias (`u2netp`) as ours.

        Raises:
            [`ModelNotServed`]: one line naming the models served.
        """
        if not name:
            return self.default
        spec = name if name in self.models else REMBG_ALIASES.get(name, name)
        if spec in self.models:
            return spec
        served = ", ".join(self.models)
        if name in REMBG_ONLY_MODELS:
            raise ModelNotServed(
                f"model {name!r} is one of rembg's own models and is not served here; models here: {served} (rembg's "
                "'u2netp' is 'u2net-lite', 'u2net' is 'u2net-full'). A converted model can be served with `u2net-hf serve --model SPEC`."
            )
        raise ModelNotServed(f"unknown model '{printable_name(name)}'; models here: {served}.")

    def get(self, name: str | None = None):
        """The [`~u2net_hf.Session`] of a model name (see [`resolve`]), made on first use."""
        spec = self.resolve(name)
        session = self._sessions.get(spec)
        if session is None:
            with self._lock:
                session = self._sessions.get(spec)
                if session is None:
                    from .sessions import new_session

                    session = self._sessions[spec] = new_session(spec, **self.session_options)
        return session


class RemoveParameters(BaseModel):
    """rembg's parameters of `/api/remove`, with its names and defaults, and ours (`format`)."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    model: str | None = Field(None, description="Model name; the server's first model by default ('u2netp' works).")
    a: bool = Field(False, description="Alpha matting.")
    af: int = Field(240, ge=0, le=255, description="Alpha matting: foreground threshold.")
    ab: int = Field(10, ge=0, le=255, description="Alpha matting: background threshold.")
    ae: int = Field(10, ge=0, le=255, description="Alpha matting: erode size.")
    om: bool = Field(False, description="Only the mask (a grayscale PNG).")
    ppm: bool = Field(False, description="Post-process the mask (a hard, smoothed mask).")
    dc: bool = Field(False, description="Decontaminate the colours of the edges.")
    vm: bool = Field(False, description="ViTMatte refinement (rembg only: refused here).")
    bgc: str | None = Field(None, description="Background colour, 'R,G,B,A' (or 'R,G,B', or '#rrggbb').")
    extras: str | None = Field(None, description='JSON object of further options: {"threshold": 0.5}.')
    format: Literal["png", "webp"] = Field("png", description="The answer's image format.")


class UrlParameters(RemoveParameters):
    url: str = Field(description="The http(s) URL of the image to fetch.")


def removal_options(parameters: RemoveParameters) -> dict:
    """
    The options of [`~u2net_hf.Session.remove`] that rembg's parameters stand for. Only options that differ
    from the defaults are named.

    Raises:
        [`RequestError`] (422): a bad `bgc` or `extras`, or `vm`.
    """
    options = {"output_format": parameters.format}
    if parameters.a:
        options.update(
            alpha_matting=True,
            alpha_matting_foreground_threshold=parameters.af,
            alpha_matting_background_threshold=parameters.ab,
            alpha_matting_erode_size=parameters.ae,
        )
    if parameters.om:
        options["mask_only"] = True
    if parameters.ppm:
        options["post_process_mask"] = True
    if parameters.dc:
        options["foreground_colors"] = "estimate"
    if parameters.vm:
        raise RequestError(422, "vm (ViTMatte refinement) is rembg's and is not available here; drop vm.")
    if parameters.bgc:
        options["bg_color"] = background_color(parameters.bgc)
    if parameters.extras:
        options.update(extra_options(parameters.extras))
    return options


def background_color(text: str) -> tuple[int, ...]:
    """rembg's `bgc`: `"R,G,B,A"` (or 3 values, or a colour Pillow names, such as `"#ffffff"`)."""
    try:
        if re.fullmatch(r"\s*-?\d+(\s*,\s*-?\d+)*\s*", text):
            return parse_color(tuple(int(value) for value in text.split(",")))
        return parse_color(text)
    except ValueError as error:
        raise RequestError(422, f"bgc: {error}") from None


def extra_options(text: str) -> dict:
    """`extras`: a JSON object of options from [`EXTRAS_OPTIONS`]; anything else is refused by name."""
    try:
        extras = json.loads(text)
    except ValueError as error:
        raise RequestError(422, f"extras is not valid JSON ({error}); send a JSON object.") from None
    if not isinstance(extras, dict):
        raise RequestError(422, f"extras must be a JSON object, got {type(extras).__name__}.")
    unknown = sorted(set(extras) - EXTRAS_OPTIONS)
    if unknown:
        raise RequestError(
            422,
            f"extras key {printable_name(unknown[0])!r} is not taken here (only {', '.join(sorted(EXTRAS_OPTIONS))}); "
            "the server never reads files or changes models for a request.",
        )
    return extras


def check_pixels(data: bytes, max_pixels: int, name: str = "image") -> None:
    """Refuse an image over `max_pixels` from its header alone; what cannot even be opened is left to the
    decoder, whose message says what is wrong."""
    try:
        with PIL.Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except PIL.Image.DecompressionBombError:
        raise RequestError(
            413, f"{name} is over twice Pillow's limit of {PIL.Image.MAX_IMAGE_PIXELS:,} pixels."
        ) from None
    except Exception:
        return
    if width * height > max_pixels:
        raise RequestError(
            413, f"{name} is {width}x{height} = {width * height:,} pixels, over this server's limit of {max_pixels:,}."
        )


class Remover:
    """Runs removals in the server's own thread pool, so that the event loop (health checks, uploads) never
    waits on a model, and turns their failures into [`RequestError`]s."""

    def __init__(self, registry: SessionRegistry, settings: ServerSettings):
        self.registry = registry
        self.settings = settings
        self._pool = ThreadPoolExecutor(settings.pool_size, thread_name_prefix="u2net-hf-serve")

    def close(self):
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def session(self, model: str | None):
        """The session of a request's model name, made in the pool on first use (a load never blocks the event
        loop); an unknown name is a 400."""
        try:
            self.registry.resolve(model)
        except ModelNotServed as error:
            raise RequestError(400, str(error)) from None
        return await self.run(self.registry.get, model)

    async def run(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    async def remove(self, data: bytes, parameters: RemoveParameters, name: str = "image") -> Response:
        options = removal_options(parameters)
        session = await self.session(parameters.model)
        result = await self.run(self._remove_one, session, data, options, name)
        return Response(result, media_type=MEDIA_TYPES[parameters.format])

    def _remove_one(self, session, data: bytes, options: dict, name: str) -> bytes:
        check_pixels(data, self.settings.max_pixels, name)
        with removal_errors(name):
            return session.remove(data, **options)

    async def remove_batch(self, files: list[tuple[str, bytes]], parameters: RemoveParameters) -> Response:
        options = removal_options(parameters)
        session = await self.session(parameters.model)
        return await self.run(self._remove_batch, session, files, options, parameters.format)

    def _remove_batch(self, session, files: list[tuple[str, bytes]], options: dict, fmt: str) -> Response:
        from .sessions import RemovalError

        errors, readable = {}, []
        for index, (name, data) in enumerate(files):
            try:
                check_pixels(data, self.settings.max_pixels, name)
                readable.append(index)
            except RequestError as error:
                errors[index] = error.message
        with removal_errors("the batch"):
            results = session.remove_many(
                [files[index][1] for index in readable], batch_size=4, errors="return", **options
            )
            archive = io.BytesIO()
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as bundle:
                for index, result in zip(readable, results):
                    if isinstance(result, RemovalError):
                        errors[index] = f"{files[index][0]}: {result.reason}"
                    else:
                        bundle.writestr(batch_entry_name(index, files[index][0], fmt), result)
                if errors:
                    report = {batch_entry_name(i, files[i][0], fmt): errors[i] for i in sorted(errors)}
                    bundle.writestr("errors.json", json.dumps(report, indent=2))
        if len(errors) == len(files):
            raise RequestError(400, f"no image of the batch could be processed; first: {errors[min(errors)]}")
        headers = {"X-Images-Done": str(len(files) - len(errors)), "X-Images-Failed": str(len(errors))}
        return Response(archive.getvalue(), media_type="application/zip", headers=headers)


class removal_errors:
    """What a removal raises, as answers: unreadable images and options that do not go together (400), options
    this version does not know (422), images too large for memory (413). Messages name the image `name` (the
    session calls an image passed as bytes "image 0")."""

    def __init__(self, name: str = "image"):
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, error_type, error, traceback):
        if error is None or isinstance(error, RequestError):
            return False
        message = " ".join(str(error).split()) or error_type.__name__
        if message.startswith("image 0:"):
            message = self.name + message.removeprefix("image 0")
        if isinstance(error, ValueError):
            raise RequestError(400, message) from None
        if isinstance(error, TypeError):
            raise RequestError(422, f"a bad option value or an option this server lacks ({message}).") from None
        if isinstance(error, RuntimeError) and "pip install" in message:
            # An option whose extra this server lacks (alpha matting without pymatting): the client asked for
            # what this server cannot do, said in one line with the install hint.
            raise RequestError(422, message) from None
        if isinstance(error, MemoryError):
            raise RequestError(413, "not enough memory to process this image; send a smaller one.") from None
        return False


def batch_entry_name(index: int, filename: str, fmt: str) -> str:
    """A zip entry's name for the `index`-th file of a batch: its position, then its stem in safe characters
    (never a path)."""
    stem = os.path.splitext(os.path.basename(filename.replace("\\", "/")))[0]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "image"
    return f"{index:03d}-{stem[:80]}.{fmt}"


class BodyTooLarge(RequestError):
    def __init__(self, limit: int):
        super().__init__(413, f"the request body is over this server's limit of {limit:,} bytes.")


class BodyLimitMiddleware:
    """Refuse request bodies over `max_bytes` with 413 before they are buffered: by their Content-Length when
    they say it, else as soon as the bytes received pass the limit."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            return await error_response(BodyTooLarge(self.max_bytes))(scope, receive, send)
        received, started = 0, False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge as error:
            if not started:
                await error_response(error)(scope, receive, send)


def error_response(error: RequestError) -> JSONResponse:
    return JSONResponse({"detail": error.message}, status_code=error.status)


def one_line_validation_error(errors) -> str:
    """pydantic's and FastAPI's validation errors in one line: `af: Input should be ... (got 300)`."""
    parts = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("query", "body")]
        text = f"{'.'.join(location) + ': ' if location else ''}{error.get('msg', 'invalid')}"
        if "input" in error and error.get("type") != "missing":
            text += f" (got {printable_name(str(error['input']))[:60]!r})"
        parts.append(text)
    return " ".join("; ".join(parts).split()) or "invalid request."


def add_error_handlers(app: FastAPI) -> None:
    """Every failure answers JSON `{"detail": "one line"}`: refusals with their 4xx, and a bug (the last resort)
    with a 500 that names the error's type only; the traceback goes to the server's log, never to the client."""

    @app.exception_handler(RequestError)
    async def refused(request: Request, error: RequestError):
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError):
        return JSONResponse({"detail": one_line_validation_error(error.errors())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        detail = " ".join(str(error.detail).split())
        return JSONResponse({"detail": detail}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    async def bug(request: Request, error: Exception):
        return JSONResponse(
            {"detail": f"internal error ({type(error).__name__}); the server's log has the details."}, status_code=500
        )


def post_parameters(form, query) -> RemoveParameters:
    """The parameters of a POST: form fields, and for those not in the form the query string (rembg sends
    `bgc` and `extras` there)."""
    values = {key: value for key, value in query.items()}
    values.update({key: value for key, value in form.items() if not isinstance(value, UploadFile)})
    try:
        return RemoveParameters.model_validate(values)
    except ValidationError as error:
        raise RequestError(422, one_line_validation_error(error.errors())) from None


def _form_schema(file_field: dict) -> dict:
    schema = RemoveParameters.model_json_schema()
    schema["properties"] = {**file_field, **schema["properties"]}
    schema["required"] = list(file_field)
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}},
    }


async def multipart_form(request: Request, max_files: int):
    """The request's multipart form; anything else (a raw body, JSON) answers 415 with what to send instead."""
    if not request.headers.get("content-type", "").startswith(("multipart/form-data", "application/x-www-form")):
        raise RequestError(
            415, "send the image as multipart/form-data, in the field 'file' (curl -F file=@photo.jpg)."
        )
    return await request.form(max_files=max_files, max_fields=32)


async def read_upload(upload: UploadFile) -> bytes:
    data = await upload.read()
    if not data:
        raise RequestError(400, f"{printable_name(upload.filename or 'file')}: the upload is empty (0 bytes).")
    return data


def create_app(settings: ServerSettings | None = None, registry: SessionRegistry | None = None) -> FastAPI:
    """
    The server's ASGI app: rembg's API, the batch endpoint, `/healthz`, OpenAPI docs at `/api`, and the web page
    at `/` (unless `settings.ui` is off).

    Args:
        settings ([`ServerSettings`], *optional*):
            Limits, models and threads; the defaults of `u2net-hf serve` otherwise.
        registry ([`SessionRegistry`], *optional*):
            Where sessions come from; one over `settings.models` by default.

    Returns:
        `fastapi.FastAPI`.

    Example:

    ```python
    >>> from fastapi.testclient import TestClient
    >>> from u2net_hf.server import ServerSettings, create_app

    >>> client = TestClient(create_app(ServerSettings(ui=False)))
    >>> with open("docs/assets/astronaut.jpg", "rb") as photo:
    ...     answer = client.post("/api/remove", files={"file": photo}, data={"model": "u2netp"})
    >>> answer.status_code, answer.headers["content-type"]
    (200, 'image/png')
    >>> client.post("/api/remove", files={"file": ("notes.txt", b"not an image")}).json()["detail"]
    'notes.txt: not an image file Pillow can read (unknown format).'
    ```
    """
    settings = settings or ServerSettings()
    registry = registry or SessionRegistry(settings.models, **settings.session_options)
    remover = Remover(registry, settings)
    app = FastAPI(
        title="u2net-hf",
        description="Background removal with U2-Net, rembg-compatible: `POST /api/remove` with a `file`.",
        version=__version__,
        docs_url="/api",
        redoc_url=None,
    )
    app.state.registry, app.state.settings, app.state.remover = registry, settings, remover
    add_error_handlers(app)
    # Any page may call the API, but never with the user's cookies or credentials.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_credentials=False,
        allow_methods=["GET", "POST"],
        allow_headers=["*"],
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.router.add_event_handler("shutdown", remover.close)
    upload_field = {"file": {"type": "string", "format": "binary", "description": "The image."}}

    @app.post(
        "/api/remove",
        summary="Remove the background of an uploaded image",
        response_class=Response,
        responses={200: {"content": {"image/png": {}, "image/webp": {}}}},
        openapi_extra=_form_schema(upload_field),
        tags=["Background removal"],
    )
    async def remove_upload(request: Request):
        form = await multipart_form(request, max_files=1)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise RequestError(422, "file: send the image as the multipart field 'file' (curl -F file=@photo.jpg).")
        parameters = post_parameters(form, request.query_params)
        name = printable_name(upload.filename or "file")
        return await remover.remove(await read_upload(upload), parameters, name)

    @app.get(
        "/api/remove",
        summary="Remove the background of an image fetched from a URL",
        response_class=Response,
        responses={200: {"content": {"image/png": {}, "image/webp": {}}}},
        tags=["Background removal"],
    )
    async def remove_url(parameters: Annotated[UrlParameters, Query()]):
        removal_options(parameters)  # bad parameters are refused before anything is fetched
        await remover.session(parameters.model)
        fetch = functools.partial(fetch_url, parameters.url, max_bytes=settings.max_upload_bytes)
        try:
            data = await remover.run(fetch)
        except FetchError as error:
            raise RequestError(413 if error.too_large else 400, str(error)) from None
        return await remover.remove(data, parameters, printable_name(parameters.url))

    batch_field = {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}}

    @app.post(
        "/api/remove/batch",
        summary="Remove the backgrounds of several images: a zip of the results",
        response_class=Response,
        responses={200: {"content": {"application/zip": {}}}},
        openapi_extra=_form_schema(batch_field),
        tags=["Background removal"],
    )
    async def remove_batch(request: Request):
        form = await multipart_form(request, max_files=settings.max_batch)
        uploads = [value for key, value in form.multi_items() if key in ("files", "file")]
        uploads = [upload for upload in uploads if isinstance(upload, UploadFile)]
        if not uploads:
            raise RequestError(422, "files: send the images as multipart fields 'files' (curl -F files=@a.jpg ...).")
        parameters = post_parameters(form, request.query_params)
        files = [
            (upload.filename or f"image {index}", await read_upload(upload)) for index, upload in enumerate(uploads)
        ]
        return await remover.remove_batch(files, parameters)

    @app.get("/healthz", summary="Health check", tags=["Server"])
    async def healthz():
        return {
            "status": "ok",
            "models": registry.models,
            "loaded": registry.loaded,
            "version": __version__,
            "pid": os.getpid(),
        }

    if settings.ui:
        from .ui import mount_ui

        app = mount_ui(app, registry, max_file_size=settings.max_upload_bytes)
    return app


def app_from_environment() -> FastAPI:
    """The app factory of worker processes (`uvicorn --factory`): settings from `U2NET_HF_SERVE_SETTINGS`."""
    settings = ServerSettings(**json.loads(os.environ.get(SETTINGS_VARIABLE, "{}")))
    app = create_app(settings)
    for model in app.state.registry.models:  # each worker loads its models before it takes requests
        app.state.registry.get(model)
    return app


__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "REMBG_ALIASES",
    "REMBG_ONLY_MODELS",
    "ModelNotServed",
    "RemoveParameters",
    "RequestError",
    "ServerSettings",
    "SessionRegistry",
    "app_from_environment",
    "create_app",
    "removal_options",
]
