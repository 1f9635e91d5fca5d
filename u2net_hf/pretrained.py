# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""One way to name a model everywhere (API, CLI, torch.hub): a bundled name, a local folder, a Hub repo id
or an already loaded model."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .image_processing_u2net import U2NetImageProcessor
from .modeling_u2net import U2NetForImageSegmentation

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class PretrainedVariant:
    """A published U2-Net checkpoint: where it lives on the Hub and, when shipped, inside this package."""

    name: str
    repo_id: str
    preset: str
    bundled: bool = False
    description: str = ""

    @property
    def bundled_path(self) -> Path | None:
        return WEIGHTS_DIR / self.name if self.bundled else None


PRETRAINED_VARIANTS = {
    variant.name: variant
    for variant in (
        PretrainedVariant(
            "u2net-lite",
            repo_id="u2net-hf/u2net-lite",
            preset="lite",
            bundled=True,
            description="Official U2-NetP weights (1.13 M parameters), shipped with the package.",
        ),
        PretrainedVariant(
            "u2net-full",
            repo_id="u2net-hf/u2net",
            preset="full",
            description="Official U2-Net weights (44.0 M parameters), downloaded from the Hub.",
        ),
    )
}
DEFAULT_MODEL = "u2net-lite"
logger = logging.getLogger(__name__)


def is_hub_id(spec: str) -> bool:
    """Whether `spec` has the form of a Hub repo id (`"namespace/name"`) rather than of a local path."""
    return spec.count("/") == 1 and not spec.startswith((".", "/", "~")) and os.sep not in spec.replace("/", "")


def resolve_model_path(model: str | os.PathLike | None = None) -> str:
    """
    Turn a model spec into something `from_pretrained` accepts.

    Args:
        model (`str` or `os.PathLike`, *optional*, defaults to `"u2net-lite"`):
            A bundled model name (`"u2net-lite"`), a local folder saved with `save_pretrained`, or a Hub repo
            id such as `"org/u2net-lite"`. A known name that is not bundled (`"u2net-full"`) resolves to its
            Hub repo id.

    Returns:
        `str`: a local folder or a Hub repo id.
    """
    spec = DEFAULT_MODEL if model is None else os.fspath(model)
    variant = PRETRAINED_VARIANTS.get(spec)
    if variant is not None:
        return str(variant.bundled_path) if variant.bundled else variant.repo_id
    path = Path(spec).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ValueError(
                f"Model {spec!r} is a file; give a folder made by save_pretrained or `u2net-hf convert`, a Hub repo "
                f"id, or one of {sorted(PRETRAINED_VARIANTS)}."
            )
        if not (path / "config.json").is_file():
            raise ValueError(f"Model folder {spec!r} has no config.json; is it a folder made by save_pretrained?")
        return str(path)
    if not is_hub_id(spec):
        raise ValueError(f"Model folder {spec!r} does not exist.")
    return spec


def load_model(
    model: str | os.PathLike | U2NetForImageSegmentation | None = None,
    *,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    revision: str | None = None,
) -> U2NetForImageSegmentation:
    """
    Load a U2-Net segmentation model in eval mode, from a bundled name, a folder or a Hub repo id.

    Like `from_pretrained`, every call returns a new model that the caller owns: train it, change it or move it
    freely. To load a model once and run it many times, make a session ([`~u2net_hf.new_session`]).

    Args:
        model (`str`, `os.PathLike` or [`U2NetForImageSegmentation`], *optional*, defaults to `"u2net-lite"`):
            What to load (see [`resolve_model_path`]); a loaded model is returned as it is (moved to
            `device`/`dtype` when given).
        device (`str` or `torch.device`, *optional*):
            Where to put the model; CPU by default.
        dtype (`torch.dtype`, *optional*):
            Parameter dtype; float32 by default.
        revision (`str`, *optional*):
            Branch, tag or commit of a Hub repo.

    Example:

    ```python
    >>> from u2net_hf import load_model

    >>> model = load_model("u2net-lite")
    >>> type(model).__name__, model.training
    ('U2NetForImageSegmentation', False)
    ```
    """
    if isinstance(model, torch.nn.Module):
        return model.to(device=device, dtype=dtype) if (device is not None or dtype is not None) else model
    kwargs = {"revision": revision} if revision is not None else {}
    loaded = U2NetForImageSegmentation.from_pretrained(resolve_model_path(model), **kwargs)
    return loaded.to(device=device or "cpu", dtype=dtype).eval()


def load_image_processor(
    model: str | os.PathLike | torch.nn.Module | None = None,
    *,
    revision: str | None = None,
    warn_if_missing: bool = False,
) -> U2NetImageProcessor:
    """
    Load the image processor saved with a model: the package's one answer to "which preprocessing does this
    model want".

    Args:
        model (`str`, `os.PathLike` or `torch.nn.Module`, *optional*, defaults to `"u2net-lite"`):
            A model spec (as for [`load_model`]), or a loaded model, whose processor is the one saved in the folder
            it was loaded from.
        revision (`str`, *optional*):
            Branch, tag or commit of a Hub repo.
        warn_if_missing (`bool`, *optional*, defaults to `False`):
            Log a warning when a local model folder has no `preprocessor_config.json`.

    Returns:
        [`U2NetImageProcessor`]: a new processor; the default one for a folder saved without
        `preprocessor_config.json` and for models not loaded from a folder.
    """
    if isinstance(model, torch.nn.Module):
        folder = Path(getattr(model, "name_or_path", "") or "")
        if not (folder / "preprocessor_config.json").is_file():
            return U2NetImageProcessor()
        model = folder
    path = resolve_model_path(model)
    if Path(path).is_dir() and not (Path(path) / "preprocessor_config.json").is_file():
        if warn_if_missing:
            logger.warning("%s has no preprocessor_config.json; using the default U2NetImageProcessor.", path)
        return U2NetImageProcessor()  # a folder saved with the model alone
    kwargs = {"revision": revision} if revision is not None else {}
    return U2NetImageProcessor.from_pretrained(path, **kwargs)


def create_model(
    name: str,
    pretrained: bool = False,
    *,
    repo_id: str | None = None,
    revision: str | None = None,
    **config_overrides,
) -> U2NetForImageSegmentation:
    """
    Build a published U2-Net variant, timm style: random weights, or the pretrained ones.

    Args:
        name (`str`):
            A key of `PRETRAINED_VARIANTS`: `"u2net-lite"` or `"u2net-full"`.
        pretrained (`bool`, *optional*, defaults to `False`):
            Load the published weights: the bundled copy for `u2net-lite` (no network), else the Hub repo.
        repo_id (`str`, *optional*):
            Load the pretrained weights from this Hub repo (or local folder) instead of the default.
        revision (`str`, *optional*):
            Branch, tag or commit of the Hub repo.
        config_overrides:
            Extra [`U2NetConfig`] fields, e.g. `freeze_batch_norm=True`.

    Returns:
        [`U2NetForImageSegmentation`], in eval mode when pretrained.
    """
    from .configuration_u2net import U2NetConfig

    if name not in PRETRAINED_VARIANTS:
        raise ValueError(f"Unknown U2-Net variant {name!r}; choose one of {sorted(PRETRAINED_VARIANTS)}.")
    variant = PRETRAINED_VARIANTS[name]
    if not pretrained:
        return U2NetForImageSegmentation(U2NetConfig(preset=variant.preset, **config_overrides))
    source = repo_id or resolve_model_path(name)
    kwargs = {"revision": revision} if revision is not None else {}
    return U2NetForImageSegmentation.from_pretrained(source, **kwargs, **config_overrides).eval()


def u2net_full(pretrained: bool = False, **kwargs) -> U2NetForImageSegmentation:
    """U2-Net (44.0 M parameters). `pretrained=True` downloads the official weights from the Hub
    (`u2net-hf/u2net` unless `repo_id=` says otherwise); see [`create_model`] for the other arguments."""
    return create_model("u2net-full", pretrained, **kwargs)


def u2net_lite(pretrained: bool = False, **kwargs) -> U2NetForImageSegmentation:
    """U2-NetP (1.13 M parameters). `pretrained=True` loads the official weights bundled with the package,
    with no network (or from `repo_id=`); see [`create_model`] for the other arguments."""
    return create_model("u2net-lite", pretrained, **kwargs)
