# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""One way to name a model everywhere (API, CLI, torch.hub): a bundled name, a local folder, a Hub repo id
or an already loaded model.

Naming and resolving models needs neither torch nor transformers (the onnxruntime runtime resolves names too);
the loaders import them when they run."""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from safetensors import SafetensorError

if TYPE_CHECKING:
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
# rembg's names for the same official weights (`rembg i -m u2netp`), accepted wherever a model is named.
REMBG_MODEL_NAMES = {"u2netp": "u2net-lite", "u2net": "u2net-full"}
logger = logging.getLogger(__name__)


class ModelLoadError(OSError, ValueError):
    """A model that cannot be loaded, in one line naming it and the problem. An `OSError`, as transformers'
    `from_pretrained` raises for files it cannot find or read, and a `ValueError`, as the rest of the package
    raises for bad input."""


def is_torch_module(model) -> bool:
    """Whether `model` is a loaded PyTorch model, without importing torch to ask (if torch was never imported,
    no object can be one)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


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
            Hub repo id; rembg's names for the same weights (`"u2netp"`, `"u2net"`) work too.

    Returns:
        `str`: a local folder or a Hub repo id.
    """
    spec = DEFAULT_MODEL if model is None else os.fspath(model)
    variant = PRETRAINED_VARIANTS.get(REMBG_MODEL_NAMES.get(spec, spec))
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
        raise ValueError(
            f"Model {spec!r} does not exist: {_not_found_prefix()} it is not a Hub repo id (namespace/name)."
        )
    return spec


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """
    Silence transformers' and huggingface_hub's progress bars and routine warnings (such as the load report)
    while our own loaders run, and restore the caller's settings afterwards: a user's own transformers logging
    is never changed for the rest of the process. Problems are not hidden: our loaders raise them instead.
    """
    from huggingface_hub import utils as hub_utils
    from transformers.utils import logging as transformers_logging

    verbosity = transformers_logging.get_verbosity()
    bars = transformers_logging.is_progress_bar_enabled()
    hub_bars = not hub_utils.are_progress_bars_disabled()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    hub_utils.disable_progress_bars()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        with warnings.catch_warnings():
            # huggingface_hub warns when HF_HUB_DISABLE_PROGRESS_BARS overrules a restore; nothing to say here.
            warnings.simplefilter("ignore", UserWarning)
            if bars:
                transformers_logging.enable_progress_bar()
            if hub_bars:
                hub_utils.enable_progress_bars()


def describe_load_error(error: BaseException) -> str:
    """
    What went wrong when loading a checkpoint, in one line, whatever the library below raised: safetensors,
    torch's refusal of pickles with code, huggingface_hub, onnxruntime.
    """
    from huggingface_hub import errors as hub_errors

    # transformers 4.x wraps torch's and safetensors' errors in an OSError of its own: the cause says more.
    cause = error
    while isinstance(error, OSError) and (cause := cause.__cause__ or cause.__context__) is not None:
        if isinstance(cause, (pickle.UnpicklingError, SafetensorError)):
            error = cause
    text = " ".join(str(error).split()) or type(error).__name__
    kind = type(error).__name__
    if isinstance(error, SafetensorError):
        return f"its model.safetensors is damaged or incomplete ({text})."
    if "Weights only load failed" in text or isinstance(error, pickle.UnpicklingError):
        found = re.search(r"unsupported GLOBAL (\S+)", text)
        what = f" (it calls {found[1]})" if found else ""
        return (
            f"its pytorch_model.bin is a pickle that runs code when loaded{what}: refused; load only checkpoints "
            "you trust, converted to model.safetensors."
        )
    if isinstance(error, hub_errors.OfflineModeIsEnabled) or "offline mode" in text.lower():
        return "it is not in the local Hugging Face cache and HF_HUB_OFFLINE is set, so the Hub was not asked."
    if isinstance(error, hub_errors.GatedRepoError):
        return "the Hub repo is gated: accept its terms on the Hub and log in (hf auth login)."
    if isinstance(error, hub_errors.RepositoryNotFoundError):
        return "no such Hub repo (or it is private: log in with hf auth login)."
    if isinstance(error, hub_errors.RevisionNotFoundError):
        return "the Hub repo has no such revision."
    if isinstance(error, hub_errors.LocalEntryNotFoundError) or "couldn't connect" in text:
        return "the Hub could not be reached and the files are not in the local Hugging Face cache."
    if isinstance(error, hub_errors.EntryNotFoundError):
        return f"a file is missing from the Hub repo ({text})."
    return f"{kind}: {text}" if kind not in text else text


def _fetch_config(repo_id: str, revision: str | None) -> bool:
    """
    Find a repo's config.json before transformers looks for it, so that an unknown or unreachable repo fails in
    seconds with one line naming it (huggingface_hub retries an unreachable Hub for half a minute). Offline, or
    when the Hub does not answer within `U2NET_HF_HUB_TIMEOUT` seconds (2 by default), only the local cache is
    used. Returns whether the load must stay on the local cache.
    """
    from huggingface_hub import constants, hf_hub_download

    timeout = float(os.environ.get("U2NET_HF_HUB_TIMEOUT", "2"))
    offline = bool(constants.HF_HUB_OFFLINE)
    local_only = offline or not _answers(constants.ENDPOINT, timeout)
    try:
        hf_hub_download(repo_id, "config.json", revision=revision, etag_timeout=timeout, local_files_only=local_only)
    except Exception as error:  # every Hub failure becomes one line naming the spec
        if local_only:
            why = (
                "HF_HUB_OFFLINE is set"
                if offline
                else f"the Hub at {constants.ENDPOINT} did not answer in {timeout:g} s"
            )
            reason = f"it is not in the local Hugging Face cache, and {why}."
        else:
            reason = describe_load_error(error)
        raise ModelLoadError(
            f"Model {repo_id!r} cannot be loaded: {_not_found_prefix()} as a Hub repo id: {reason}"
        ) from None
    return local_only


def _answers(endpoint: str, timeout: float) -> bool:
    """Whether a TCP connection to the Hub endpoint opens within `timeout` seconds."""
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(endpoint)
    try:
        with socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout):
            return True
    except OSError:
        return False


def _not_found_prefix() -> str:
    """What a model spec was tried as before the Hub, for messages."""
    return f"it is not a bundled model ({', '.join(sorted(PRETRAINED_VARIANTS))}), no folder of that name exists, and"


def from_pretrained_strictly(
    cls: type, path: str, *, strict: bool = True, name: str | None = None, **kwargs
) -> torch.nn.Module:
    """
    `cls.from_pretrained(path, **kwargs)`, quietly, with every failure as one `ValueError` naming the model:
    unreadable weights, Hub errors and, unless `strict=False`, missing, unexpected or mis-shaped tensors.

    Args:
        cls (`type`):
            A U2-Net model class.
        path (`str`):
            A folder or a Hub repo id (see [`resolve_model_path`]).
        strict (`bool`, *optional*, defaults to `True`):
            Refuse a checkpoint whose tensors do not all match the model; `False` loads what matches and leaves
            the rest randomly initialised (fine-tuning from another head).
        name (`str`, *optional*):
            The spec to name in messages; `path` by default.
        kwargs:
            More `from_pretrained` arguments (`revision`, config overrides).
    """
    name = name or path
    if not Path(path).is_dir() and is_hub_id(path) and _fetch_config(path, kwargs.get("revision")):
        kwargs["local_files_only"] = True
    with quiet_loading():
        try:
            # The model class refuses tensors that do not match, unless strict=False.
            return cls.from_pretrained(path, strict=strict, **kwargs)
        except ValueError as error:
            if str(error).startswith(f"Model {path!r}: its weights do not match"):
                raise ValueError(str(error).replace(f"Model {path!r}", f"Model {name!r}", 1)) from None
            raise ModelLoadError(f"Model {name!r} cannot be loaded: {describe_load_error(error)}") from None
        except (OSError, RuntimeError, ImportError, pickle.UnpicklingError, SafetensorError) as error:
            raise ModelLoadError(f"Model {name!r} cannot be loaded: {describe_load_error(error)}") from None


def load_model(
    model: str | os.PathLike | U2NetForImageSegmentation | None = None,
    *,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    revision: str | None = None,
    strict: bool = True,
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
        strict (`bool`, *optional*, defaults to `True`):
            Refuse a checkpoint whose tensors do not all match the architecture in its config (missing,
            unexpected or mis-shaped ones), rather than run with random tensors in their place. `False` loads
            what matches, for fine-tuning from another head.

    Raises:
        `ValueError`: one line naming the model and what is wrong: not found, unreadable or unsafe weights, Hub
        errors, tensors that do not match.

    Example:

    ```python
    >>> from u2net_hf import load_model

    >>> model = load_model("u2net-lite")
    >>> type(model).__name__, model.training
    ('U2NetForImageSegmentation', False)
    ```
    """
    from .modeling_u2net import U2NetForImageSegmentation

    if is_torch_module(model):
        return model.to(device=device, dtype=dtype) if (device is not None or dtype is not None) else model
    kwargs = {"revision": revision} if revision is not None else {}
    spec = DEFAULT_MODEL if model is None else os.fspath(model)
    path = resolve_model_path(spec)
    loaded = from_pretrained_strictly(U2NetForImageSegmentation, path, strict=strict, name=spec, **kwargs)
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
    from .image_processing_u2net import U2NetImageProcessor

    if is_torch_module(model):
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
    with quiet_loading():
        try:
            return U2NetImageProcessor.from_pretrained(path, **kwargs)
        except (OSError, ValueError) as error:
            raise ValueError(
                f"Model {path!r}: cannot load its image processor: {describe_load_error(error)}"
            ) from None


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
    from .modeling_u2net import U2NetForImageSegmentation

    if name not in PRETRAINED_VARIANTS:
        raise ValueError(f"Unknown U2-Net variant {name!r}; choose one of {sorted(PRETRAINED_VARIANTS)}.")
    variant = PRETRAINED_VARIANTS[name]
    if not pretrained:
        return U2NetForImageSegmentation(U2NetConfig(preset=variant.preset, **config_overrides))
    source = repo_id or resolve_model_path(name)
    kwargs = {"revision": revision} if revision is not None else {}
    return from_pretrained_strictly(U2NetForImageSegmentation, source, **kwargs, **config_overrides).eval()


def u2net_full(pretrained: bool = False, **kwargs) -> U2NetForImageSegmentation:
    """U2-Net (44.0 M parameters). `pretrained=True` downloads the official weights from the Hub
    (`u2net-hf/u2net` unless `repo_id=` says otherwise); see [`create_model`] for the other arguments."""
    return create_model("u2net-full", pretrained, **kwargs)


def u2net_lite(pretrained: bool = False, **kwargs) -> U2NetForImageSegmentation:
    """U2-NetP (1.13 M parameters). `pretrained=True` loads the official weights bundled with the package,
    with no network (or from `repo_id=`); see [`create_model`] for the other arguments."""
    return create_model("u2net-lite", pretrained, **kwargs)
