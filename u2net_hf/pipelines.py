# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
`pipeline("background-removal")`: RGBA cut-outs with U2-Net's soft alpha, or the soft mask alone.

One file serves two homes. Inside the package it is `u2net_hf.pipelines`, registered on `import u2net_hf`, and it
runs on a [`~u2net_hf.sessions.Session`] (the model as transformers loaded it, or any session given with
`session=`, onnxruntime included) with the package's own image loading and compositing, so its cut-outs are those
of `remove_background`. Pushed beside the model trio as remote code (`custom_pipelines` in config.json), it loads
with `trust_remote_code=True` in a Python without `u2net_hf`: it then needs only numpy, PIL, torch, transformers
and its sibling `image_processing_u2net.py`, and composites the soft cut-out itself, in the same arithmetic. Where
`u2net_hf` is installed, the remote copy uses the package too.
"""

from __future__ import annotations

import types

import PIL.Image
import PIL.ImageOps
from transformers import Pipeline

# transformers 4.x copies only a remote module's direct relative imports beside it: every sibling this file needs
# as remote code is imported here directly, the processor included.
from .image_processing_u2net import U2NetImageProcessor  # noqa: F401
from .image_transforms_u2net import to_rgb_array
from .logging_u2net import quiet_routine_messages

# Before transformers loads this model's image processor (which, as remote code, it may do first): its routine
# "slow image processor" line is one of those the filter drops.
quiet_routine_messages()

# The options of `remove_background` that pass through, and those a Python without u2net-hf can do.
REMOVE_OPTIONS = (
    "mask_only",
    "bg_color",
    "threshold",
    "output_format",
    "compress_level",
    "alpha_matting",
    "alpha_matting_foreground_threshold",
    "alpha_matting_background_threshold",
    "alpha_matting_erode_size",
    "post_process_mask",
    "foreground_colors",
)
STANDALONE_OPTIONS = ("mask_only", "threshold")


class BackgroundRemovalPipeline(Pipeline):
    """
    Remove the background of images with U2-Net: `pipe(image)` gives an RGBA cut-out whose alpha is the model's
    soft foreground probability (scaled to 0-255), at the image's own size; `pipe(image, return_mask=True)` gives
    that soft mask as an "L" image. A list in gives a list out; `batch_size=` runs several images per forward pass.

    Inputs are what `transformers` pipelines take for images (a PIL image, a path or a URL) and, where u2net-hf is
    installed, anything [`~u2net_hf.images.load_image`] reads (bytes, numpy arrays). Results are PIL images (bytes
    with `output_format=`).

    Call options, as for [`~u2net_hf.sessions.remove_background`]:
        return_mask / mask_only (`bool`): the soft "L" mask instead of the cut-out.
        threshold (`float`): a hard alpha, 255 where the foreground probability exceeds it.
        bg_color, output_format, compress_level: see `remove_background` (need u2net-hf).

    Construction options (through `pipeline(...)`): `session=` a [`~u2net_hf.sessions.Session`] to run instead of
    the loaded model (say `new_session("u2net-lite", backend="onnxruntime")`), or `backend=`, `int8=`,
    `num_threads=` to make one from the loaded model with [`~u2net_hf.sessions.new_session`] (need u2net-hf).

    Example:

    ```python
    >>> import u2net_hf  # registers the task
    >>> from PIL import Image
    >>> from transformers import pipeline

    >>> remover = pipeline("background-removal", model=u2net_hf.resolve_model_path("u2net-lite"))
    >>> cutout = remover(Image.new("RGB", (64, 48), "white"))
    >>> cutout.mode, cutout.size
    ('RGBA', (64, 48))
    >>> remover(Image.new("RGB", (64, 48), "white"), return_mask=True).mode
    'L'
    ```
    """

    _load_processor = False
    _load_image_processor = True
    _load_feature_extractor = False
    _load_tokenizer = False

    def __init__(
        self, *args, session=None, backend: str | None = None, int8: bool = False, num_threads=None, **kwargs
    ):
        self.package = _package()  # before the base class, which calls _sanitize_parameters
        super().__init__(*args, **kwargs)
        if self.package is None:
            if session is not None or backend is not None or int8 or num_threads is not None:
                raise ValueError("session=, backend=, int8= and num_threads= need the u2net-hf package.")
            self.session = None
        elif session is not None:
            self.session = session
        elif backend is not None or int8 or num_threads is not None:
            self.session = self.package.new_session(self.model, backend=backend, int8=int8, num_threads=num_threads)
        else:
            self.session = self.package.Session(self.model, self.image_processor, backend="torch", device=self.device)
        if self.session is not None:
            self.image_processor = self.session.image_processor

    def _sanitize_parameters(self, return_mask=None, timeout=None, **options):
        unknown = sorted(set(options) - set(REMOVE_OPTIONS))
        if unknown:
            raise TypeError(
                f"Unknown option(s) {', '.join(unknown)}; background removal takes return_mask, "
                f"{', '.join(REMOVE_OPTIONS)}."
            )
        if return_mask is not None:
            options["mask_only"] = bool(return_mask)
        if self.package is None:
            needs_package = sorted(
                name for name, value in options.items() if name not in STANDALONE_OPTIONS and value is not None
            )
            if needs_package:
                raise ValueError(
                    f"{', '.join(needs_package)} need(s) the u2net-hf package; without it the pipeline "
                    "gives the soft cut-out or mask (return_mask=, threshold=)."
                )
        elif options:
            options = {"options": self.package.RemoveOptions.create(**options)}
        preprocess = {"timeout": timeout} if timeout is not None else {}
        return preprocess, {}, options

    def preprocess(self, image, timeout=None):
        source = self.package.load(image) if self.package is not None else _load(image, timeout)
        pixel_values = self.image_processor.preprocess(source.rgb, return_tensors="pt")["pixel_values"]
        return {"pixel_values": pixel_values, "source": source}

    def _forward(self, model_inputs):
        pixel_values = model_inputs["pixel_values"]
        if self.session is not None:
            logits = self.session.forward(pixel_values)
        else:
            logits = self.model(pixel_values=pixel_values.to(self.model.dtype)).logits.float()
        return {"logits": logits, "source": model_inputs["source"]}

    def postprocess(self, model_outputs, options=None, mask_only=False, threshold=None):
        source = model_outputs["source"]
        (probability,) = self.image_processor.post_process_saliency(
            {"logits": model_outputs["logits"]}, target_sizes=[source.rgb.shape[:2]]
        )
        probability = probability.numpy()
        if self.package is not None:
            options = options or self.package.RemoveOptions.create()
            return self.package.finish(source, probability, options)
        return _compose(source, probability, mask_only=mask_only, threshold=threshold)


class Source:
    """One input image as the pipeline carries it from preprocessing to compositing: its 8-bit RGB pixels, its own
    alpha channel (or `None`) and, where u2net-hf prepared it, what its output needs (ICC profile, output kind)."""

    def __init__(self, rgb, alpha=None, prepared=None):
        self.rgb = rgb
        self.alpha = alpha
        self.prepared = prepared


def _package():
    """What the pipeline takes from u2net-hf where it is installed; `None` where it is not (remote code)."""
    try:
        from u2net_hf import background, sessions
    except ImportError:
        return None

    def load(image) -> Source:
        prepared = sessions.prepare_image(image)
        return Source(prepared.rgb, prepared.alpha, prepared)

    def finish(source: Source, probability, options):
        return sessions.cut_out(source.prepared, probability, options=options)

    return types.SimpleNamespace(
        Session=sessions.Session,
        new_session=sessions.new_session,
        RemoveOptions=background.RemoveOptions,
        load=load,
        finish=finish,
    )


def _load(image, timeout=None) -> Source:
    """A Python without u2net-hf: transformers' image loading (PIL images, paths, URLs), EXIF orientation applied,
    the image's own alpha kept for the cut-out."""
    from transformers.image_utils import load_image

    picture = PIL.ImageOps.exif_transpose(
        load_image(image, timeout=timeout) if not isinstance(image, PIL.Image.Image) else image
    )
    alpha = None
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        import numpy as np

        alpha = np.asarray(picture.convert("RGBA"))[..., 3].copy()
    rgb = to_rgb_array(picture)
    if rgb.dtype != "uint8":
        import numpy as np

        rgb = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return Source(rgb, alpha)


def _compose(source: Source, probability, *, mask_only: bool, threshold: float | None) -> PIL.Image.Image:
    """The soft cut-out or mask, in `u2net_hf.background.compose`'s arithmetic (alpha = rint(255 p), times the
    image's own alpha; black under alpha 0)."""
    import numpy as np

    if threshold is not None:
        mask = np.where(probability > threshold, np.uint8(255), np.uint8(0))
    else:
        mask = np.rint(probability * 255).astype(np.uint8)
    if mask_only:
        return PIL.Image.fromarray(mask, mode="L")
    alpha = mask
    if source.alpha is not None:
        alpha = np.rint(mask.astype(np.float32) * source.alpha.astype(np.float32) / 255).astype(np.uint8)
    colour = np.where(alpha[..., None] > 0, source.rgb, np.uint8(0))
    return PIL.Image.fromarray(np.dstack([colour, alpha]), mode="RGBA")


__all__ = ["BackgroundRemovalPipeline"]
