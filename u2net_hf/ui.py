# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""The web page: a Gradio app over a [`~u2net_hf.server.SessionRegistry`]. Upload or drop a photo, see it before
and after side by side, pick the model and the options the API has, download the result.

`u2net-hf serve` mounts it at `/`; `app.py` at the root of the repository runs it alone (a Hugging Face Space:
`gradio app.py`). Needs the `serve` extra: `pip install -e ".[serve]"` in a clone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from a server or a Space

import gradio as gr

from .server import ModelNotServed, RemoveParameters, SessionRegistry, removal_options

GALLERY = Path(__file__).resolve().parents[1] / "docs" / "gallery"
# Results are written here for the download button; Gradio copies them to its own cache, so an hour is plenty.
RESULT_LIFETIME_S = 3600
TITLE = "u2net-hf: remove the background of a photo"
DESCRIPTION = (
    "U2-Net salient-object segmentation, rembg-compatible. Drop a photo, get an RGBA cut-out. The same options as "
    "the HTTP API (`POST /api/remove`; its docs are at [/api](/api) when this page is served by `u2net-hf serve`)."
)


def gallery_examples(folder: str | os.PathLike = GALLERY) -> list[str]:
    """The gallery's photos (not its cut-outs or masks), as examples for the page; none outside a clone."""
    folder = Path(folder)
    return sorted(str(path) for path in folder.glob("*.jpg")) if folder.is_dir() else []


def build_ui(registry: SessionRegistry, *, examples: list[str] | None = None) -> gr.Blocks:
    """
    The page, on the sessions of `registry`.

    Args:
        registry ([`~u2net_hf.server.SessionRegistry`]):
            The models offered (the first one is selected) and their sessions, shared with the API.
        examples (`list[str]`, *optional*):
            Photos offered as examples; the gallery's by default, when it is there.

    Returns:
        `gradio.Blocks`: launch it (`.launch()`) or mount it (see [`mount_ui`]).

    Example:

    ```python
    >>> from u2net_hf.server import SessionRegistry
    >>> from u2net_hf.ui import build_ui

    >>> page = build_ui(SessionRegistry(["u2net-lite"]))
    >>> page.title
    'u2net-hf: remove the background of a photo'
    ```
    """
    results = Path(tempfile.mkdtemp(prefix="u2net-hf-ui-"))
    examples = gallery_examples() if examples is None else examples

    def remove(photo, model, matting, foreground, background, erode, mask_only, post_process, colour, fmt):
        if not photo:
            raise gr.Error("Upload a photo first.")
        parameters = RemoveParameters(
            model=model, a=matting, af=foreground, ab=background, ae=erode, om=mask_only, ppm=post_process,
            bgc=colour or None, format=fmt,
        )  # fmt: skip
        try:
            result = registry.get(model).remove(Path(photo), **removal_options(parameters))
        except (ModelNotServed, ValueError, TypeError, RuntimeError, OSError) as error:
            # Name the upload as the user knows it, not by Gradio's temporary path.
            message = str(error).replace(str(photo), Path(photo).name)
            raise gr.Error(" ".join(message.split())) from None
        path = _result_path(results, Path(photo).stem, fmt)
        path.write_bytes(result)
        return (photo, str(path)), str(path)

    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(RESULT_LIFETIME_S, RESULT_LIFETIME_S)) as page:
        gr.Markdown(f"# {TITLE}\n{DESCRIPTION}")
        with gr.Row():
            with gr.Column():
                photo = gr.Image(type="filepath", image_mode=None, label="Photo", elem_id="photo")
                model = gr.Dropdown(registry.models, value=registry.default, label="Model", elem_id="model")
                with gr.Accordion("Options", open=False):
                    matting = gr.Checkbox(False, label="Alpha matting (a)")
                    foreground = gr.Slider(0, 255, 240, step=1, label="Matting foreground threshold (af)")
                    background = gr.Slider(0, 255, 10, step=1, label="Matting background threshold (ab)")
                    erode = gr.Slider(0, 255, 10, step=1, label="Matting erode size (ae)")
                    mask_only = gr.Checkbox(False, label="Mask only (om)")
                    post_process = gr.Checkbox(False, label="Post-process the mask (ppm)")
                    colour = gr.ColorPicker(None, label="Background colour (bgc; empty: transparent)")
                    fmt = gr.Radio(["png", "webp"], value="png", label="Format")
                button = gr.Button("Remove background", variant="primary", elem_id="remove")
            with gr.Column():
                comparison = gr.ImageSlider(label="Before / after", type="filepath", elem_id="comparison")
                download = gr.File(label="Download", elem_id="download")
        if examples:
            gr.Examples(examples, inputs=photo, label="Gallery photos")
        inputs = [photo, model, matting, foreground, background, erode, mask_only, post_process, colour, fmt]
        button.click(remove, inputs=inputs, outputs=[comparison, download], api_name="remove")
    return page


def _result_path(folder: Path, stem: str, fmt: str) -> Path:
    """A new file for a result, named after the photo (in a folder of its own); results older than
    `RESULT_LIFETIME_S` are dropped."""
    now = time.time()
    for old in folder.iterdir():
        if now - old.stat().st_mtime > RESULT_LIFETIME_S:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=folder)) / f"{stem[:80]}-cutout.{fmt}"


def mount_ui(app, registry: SessionRegistry, *, max_file_size: int | None = None):
    """Mount the page at `/` of a FastAPI `app` (after its own routes, which keep precedence); returns the app."""
    return gr.mount_gradio_app(app, build_ui(registry), path="/", max_file_size=max_file_size)


__all__ = ["build_ui", "gallery_examples", "mount_ui"]
