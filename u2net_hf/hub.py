# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
Hub-ready model folders and pushing them: [`save_model_folder`] writes a complete folder (safetensors weights,
config, image processor config, model card) atomically, and [`push_to_hub`] pushes one to the Hugging Face Hub
in exactly one commit.

Loading needs nothing from this module: after `import u2net_hf`, `AutoModel.from_pretrained("org/name")`,
`AutoImageProcessor.from_pretrained(...)`, `pipeline("image-segmentation", model="org/name")` and
[`~u2net_hf.pretrained.load_model`] take Hub repo ids like any other transformers model.
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from .configuration_u2net import U2NetConfig, preset_of
from .files import make_staging_folder, replace_folder, write_text_atomically
from .image_processing_u2net import U2NetImageProcessor
from .modelcard import card_defaults, made_with, retarget_model_card, write_model_card
from .modeling_u2net import U2NetPreTrainedModel
from .pretrained import load_image_processor, resolve_model_path
from .registration import REMOTE_CODE_FILES, add_remote_code, remove_remote_code

DEFAULT_COMMIT_MESSAGE = "Upload U2-Net model with u2net-hf"
WEIGHTS_NAME = "model.safetensors"
WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
# Files of a model folder that a push copies as they are; anything else in the folder (optimizer states,
# checkpoints, logs) stays local.
FOLDER_FILES = ("config.json", "preprocessor_config.json", "README.md", "LICENSE", "NOTICE")
# Weight formats that run code when loaded, and safetensors layouts that a new push replaces. A push removes them
# from the target branch so that the repo holds exactly one set of weights, in safetensors.
STALE_WEIGHT_PATTERNS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.pickle", "*.h5", "*.msgpack")
SAFETENSORS_PATTERNS = (WEIGHTS_NAME, WEIGHTS_INDEX_NAME, "model-*-of-*.safetensors")


def push_to_hub(
    model: str | os.PathLike | U2NetPreTrainedModel,
    repo_id: str,
    *,
    image_processor: U2NetImageProcessor | None = None,
    revision: str | None = None,
    private: bool | None = None,
    commit_message: str | None = None,
    commit_description: str | None = None,
    with_code: bool = True,
    token: str | None = None,
    **model_card,
):
    """
    Push a model to a Hub repo in one commit: `model.safetensors`, `config.json`, `preprocessor_config.json`,
    `README.md` and the model's code (unless `with_code=False`). Files that did not change are not uploaded
    again, and when nothing changed no commit is made.

    The code goes by default so that the repo is what its card says, a transformers repo: `AutoModel`,
    `pipeline("image-segmentation")` and `pipeline("background-removal")` load it with `trust_remote_code=True`
    and no u2net-hf, as the Hub's own "Use this model" snippets do. Without code, the card says
    `library_name: u2net-hf` and `import u2net_hf` in every snippet.

    The repo is created if needed, and so is the branch `revision`. Weights in pickle-based formats (`*.bin`,
    `*.pt`, ...) left on that branch by earlier pushes are deleted in the same commit, so the repo holds
    safetensors only.

    Args:
        model (`str`, `os.PathLike` or [`U2NetPreTrainedModel`]):
            A folder saved with `save_pretrained` (or written by `u2net-hf convert` / `u2net-hf train`), a bundled
            model name such as `"u2net-lite"`, or a model object. From a folder, only the files listed above (and a
            `LICENSE` or `NOTICE`) are pushed, byte for byte; the weights must be safetensors.
        repo_id (`str`):
            The Hub repo, `"namespace/name"`.
        image_processor ([`U2NetImageProcessor`], *optional*):
            The processor to push. Defaults to the folder's `preprocessor_config.json`, else the processor saved
            with the model object, else the default processor.
        revision (`str`, *optional*):
            The branch to push to, created from `main` if it does not exist. Defaults to `main`.
        private (`bool`, *optional*):
            Create the repo as private. Has no effect on a repo that already exists.
        commit_message (`str`, *optional*):
            The commit title. Defaults to `"Upload U2-Net model with u2net-hf"`.
        commit_description (`str`, *optional*):
            The commit description.
        with_code (`bool`, *optional*, defaults to `True`):
            Push the model's code, an `auto_map` and `custom_pipelines`, so that `trust_remote_code=True` loads the
            repo where `u2net_hf` is not installed (see [`~u2net_hf.registration.add_remote_code`]). With `False`,
            earlier pushed code files are removed from the branch.
        token (`str`, *optional*):
            A Hub token with write access. Defaults to `HF_TOKEN` or the token saved by `hf auth login`.
        model_card:
            Keyword arguments for [`~u2net_hf.modelcard.render_model_card`], such as `base_model`, `datasets`,
            `metrics` (`{"mae": 0.041}`), `license`, `tags` or `description`. With none, a `README.md` already in the
            folder is pushed (a card written by `u2net-hf convert` or `train` gets its "How to use" section and
            `library_name` rewritten for `repo_id` and `with_code`; a card of your own goes as it is); otherwise the
            card is generated from the config and these arguments.

    Returns:
        `huggingface_hub.CommitInfo`: the new commit, or the branch's current commit when nothing changed.

    Raises:
        `PermissionError`: the Hub refused the token (none, invalid, read-only, or no rights on the namespace).
            Nothing was pushed.
        `ConnectionError`: the connection to the Hub broke before the commit was acknowledged. A commit is
            all-or-nothing on the Hub; push again to retry (unchanged files are not uploaded twice).
        `ValueError`: `model` is not a U2-Net model folder with safetensors weights.

    Example:

    ```python
    >>> from u2net_hf.hub import push_to_hub
    >>> push_to_hub("runs/finetuned", "my-org/u2net-lite-portraits", base_model="u2net-hf/u2net-lite",
    ...             datasets=["my-org/portraits"], metrics={"mae": 0.031})  # doctest: +SKIP
    ```
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    with tempfile.TemporaryDirectory(prefix="u2net-hf-push-") as staging:
        staged = save_for_hub(
            model, staging, image_processor=image_processor, repo_id=repo_id, with_code=with_code, **model_card
        )
        api = HfApi(token=token)
        branch = revision or "main"
        with hub_errors(repo_id, endpoint=api.endpoint, token=token):
            repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
            if branch != "main":
                api.create_branch(repo_id, branch=branch, exist_ok=True)
            head = api.repo_info(repo_id, revision=branch)
            remote_files = [sibling.rfilename for sibling in head.siblings or []]
            deletions = [
                CommitOperationDelete(path) for path in stale_files(remote_files, staged, with_code=with_code)
            ]
            additions = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=Path(staging, name)) for name in staged]
            return api.create_commit(
                repo_id,
                operations=deletions + additions,
                commit_message=commit_message or DEFAULT_COMMIT_MESSAGE,
                commit_description=commit_description,
                revision=branch,
                # Refuse to commit if someone pushed since we listed the branch's files.
                parent_commit=head.sha,
            )


def save_for_hub(
    model: str | os.PathLike | U2NetPreTrainedModel,
    folder: str | os.PathLike,
    *,
    image_processor: U2NetImageProcessor | None = None,
    repo_id: str | None = None,
    with_code: bool = True,
    **model_card,
) -> list[str]:
    """
    Write into `folder` exactly the files that [`push_to_hub`] commits. Useful to review a push before making it.

    Args:
        model (`str`, `os.PathLike` or [`U2NetPreTrainedModel`]):
            A model folder, a bundled model name or a model object (see [`push_to_hub`]).
        folder (`str` or `os.PathLike`):
            An existing, empty folder.
        image_processor ([`U2NetImageProcessor`], *optional*):
            The processor to save instead of the model's own.
        repo_id (`str`, *optional*):
            The repo the card's loading instructions name.
        with_code (`bool`, *optional*, defaults to `True`):
            Add the code files, `auto_map` and `custom_pipelines` for `trust_remote_code=True`.
        model_card:
            Keyword arguments for [`~u2net_hf.modelcard.render_model_card`] (see [`push_to_hub`]).

    Returns:
        `list[str]`: the names of the files written, sorted.
    """
    folder = Path(folder)
    if isinstance(model, U2NetPreTrainedModel):
        config = model.config
        save_model_folder(model, folder, image_processor=image_processor or load_image_processor(model))
    else:
        source = _model_folder(model)
        config = U2NetConfig.from_pretrained(source)
        for name in _weight_files(source) + [name for name in FOLDER_FILES if (source / name).is_file()]:
            shutil.copyfile(source / name, folder / name)
        if image_processor is not None or not (folder / "preprocessor_config.json").is_file():
            (image_processor or U2NetImageProcessor()).save_pretrained(folder)
    if model_card or not (folder / "README.md").is_file():
        _write_card(folder, config, repo_id=repo_id or str(folder), with_code=with_code, **model_card)
    elif repo_id:
        _retarget_card(folder / "README.md", config, repo_id=repo_id, with_code=with_code)
    if with_code:
        add_remote_code(folder)
    else:  # a folder pulled from a repo with code still points its config at that code
        remove_remote_code(folder)
    return sorted(path.name for path in folder.iterdir())


def check_destination(dest: str | os.PathLike, *, overwrite: bool) -> Path:
    """
    Refuse a destination that would lose data: a file, or a non-empty folder unless `overwrite` (and then only a
    folder that holds a model, so that a mistyped path cannot wipe an unrelated folder).

    Raises:
        `FileExistsError`: saying which of these `dest` is.
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise FileExistsError(f"{dest}: exists and is not a folder; choose another destination.")
    if dest.is_dir() and any(dest.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{dest}: folder exists and is not empty; pass --overwrite to replace it.")
        if not (dest / "config.json").is_file():
            raise FileExistsError(
                f"{dest}: refusing to overwrite a non-empty folder that does not hold a model (no config.json)."
            )
    return dest


def save_model_folder(
    model: U2NetPreTrainedModel,
    dest: str | os.PathLike,
    *,
    image_processor: U2NetImageProcessor | None = None,
    model_card: Mapping | None = None,
    extra_files: Mapping[str, str | os.PathLike | bytes] | None = None,
    overwrite: bool = False,
) -> Path:
    """
    Write `model` as a complete, Hub-ready model folder, atomically: everything goes to a temporary folder beside
    `dest`, which then takes the place of `dest` (see [`~u2net_hf.files.replace_folder`]). A failure leaves `dest`
    as it was.

    Args:
        model ([`U2NetPreTrainedModel`]):
            The model to save (safetensors weights and config.json).
        dest (`str` or `os.PathLike`):
            The folder to write. It must not exist or be empty, unless `overwrite`.
        image_processor ([`U2NetImageProcessor`], *optional*):
            Saved as preprocessor_config.json; the default processor when omitted.
        model_card (`Mapping`, *optional*):
            Keyword arguments for [`~u2net_hf.modelcard.write_model_card`]; no README.md when omitted.
        extra_files (`Mapping[str, str | os.PathLike | bytes]`, *optional*):
            Extra files, as `{name in the folder: source path or content}`.
        overwrite (`bool`, *optional*, defaults to `False`):
            Replace an existing model folder at `dest`.

    Returns:
        `Path`: the folder written, absolute.

    Raises:
        `FileExistsError`: `dest` would lose data (see [`check_destination`]).
    """
    dest = check_destination(dest, overwrite=overwrite).absolute()
    if model_card is not None and not (model_card.get("model_id") or model_card.get("bundled_name")):
        # A card without a model id loads the folder it lies in: no placeholder.
        model_card = {**model_card, "model_id": str(dest)}
    staging = make_staging_folder(dest)
    try:
        with _quiet_progress_bars():
            model.save_pretrained(staging, safe_serialization=True)
        (image_processor or U2NetImageProcessor()).save_pretrained(staging)
        if model_card is not None:
            write_model_card(staging, **model_card)
        for name, source in (extra_files or {}).items():
            if isinstance(source, bytes):
                (staging / name).write_bytes(source)
            else:
                shutil.copyfile(source, staging / name)
        replace_folder(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


@contextlib.contextmanager
def _quiet_progress_bars():
    # save_pretrained shows a progress bar for a single small file: noise in a command's output.
    from transformers.utils import logging as transformers_logging

    enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            transformers_logging.enable_progress_bar()


def stale_files(remote_files: Iterable[str], pushed: Iterable[str], *, with_code: bool) -> list[str]:
    """Files on the branch that a push of `pushed` deletes: weights in other formats or layouts, and the code
    files of an earlier push with code when this one has none."""
    pushed = set(pushed)
    patterns = STALE_WEIGHT_PATTERNS + SAFETENSORS_PATTERNS + (() if with_code else REMOTE_CODE_FILES)
    return sorted(
        path
        for path in remote_files
        if path not in pushed and "/" not in path and any(fnmatch.fnmatchcase(path, p) for p in patterns)
    )


@contextlib.contextmanager
def hub_errors(repo_id: str, *, endpoint: str, token: str | None = None):
    """
    Turn the Hub client's authentication and connection failures during a push into one-line errors that say what
    to do: `PermissionError` for 401/403 answers, `ConnectionError` when no answer came. Other Hub errors (such as
    an invalid repo id) pass through unchanged.
    """
    from huggingface_hub import get_token
    from huggingface_hub.errors import HfHubHTTPError

    try:
        yield
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        if status not in (401, 403):
            raise
        reason = (error.server_message or "").strip().rstrip(".") or f"HTTP {status}"
        if token is None and get_token() is None:
            advice = (
                "No Hub token was found: log in with `hf auth login`, set HF_TOKEN, or pass a write token (--token)"
            )
        else:
            advice = (
                f"Use a token with write access to the namespace {repo_id.split('/')[0]!r} (`hf auth login`, HF_TOKEN "
                "or --token), or push to a namespace you own"
            )
        raise PermissionError(f"The Hub at {endpoint} refused to push to {repo_id!r}: {reason}. {advice}.") from error
    except _transport_errors() as error:
        raise ConnectionError(
            f"Lost the connection to {endpoint} while pushing to {repo_id!r} ({type(error).__name__}: {error}); "
            "a Hub commit is all-or-nothing, so run the same push again to retry."
        ) from error


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Exceptions the Hub client's HTTP library raises when a request gets no answer (huggingface_hub 1.x uses
    httpx, 2.x httpx2; the requests library of older versions raises OSError subclasses, which callers see as is)."""
    errors = []
    for module_name in ("httpx2", "httpx"):
        with contextlib.suppress(ImportError):
            errors.append(importlib.import_module(module_name).TransportError)
    return tuple(errors)


def _model_folder(model: str | os.PathLike) -> Path:
    path = Path(resolve_model_path(model))
    if not path.is_dir():
        raise ValueError(
            f"Model {os.fspath(model)!r} is not a local folder; push a folder saved with save_pretrained, a bundled "
            "model name, or a model object."
        )
    model_type = json.loads((path / "config.json").read_text(encoding="utf-8")).get("model_type")
    if model_type != U2NetConfig.model_type:
        raise ValueError(f"{path / 'config.json'}: model_type is {model_type!r}, not a U2-Net model ('u2net').")
    return path


def _weight_files(folder: Path) -> list[str]:
    """The safetensors weights of a model folder: `model.safetensors`, or the shards named by its index."""
    if (folder / WEIGHTS_NAME).is_file():
        return [WEIGHTS_NAME]
    if (folder / WEIGHTS_INDEX_NAME).is_file():
        index = json.loads((folder / WEIGHTS_INDEX_NAME).read_text(encoding="utf-8"))
        return [WEIGHTS_INDEX_NAME, *sorted(set(index["weight_map"].values()))]
    pickled = sorted(path.name for path in folder.iterdir() if path.suffix in (".bin", ".pt", ".pth"))
    hint = (
        f" ({', '.join(pickled)} is a pickle: re-save it with "
        "`U2NetForImageSegmentation.from_pretrained(folder).save_pretrained(folder)`)"
        if pickled
        else ""
    )
    raise ValueError(f"{folder}: no {WEIGHTS_NAME}; only safetensors weights are pushed{hint}.")


def _write_card(folder: Path, config: U2NetConfig, *, repo_id: str, with_code: bool, **card) -> None:
    base_model = card.get("base_model")
    provenance = made_with("Pushed")
    if base_model:
        provenance += f", fine-tuned from {', '.join(f'`{m}`' for m in _as_list(base_model))}"
    defaults = card_defaults(config, provenance=provenance + ".", model_id=repo_id)
    write_model_card(folder, **{**defaults, "remote_code": with_code, **card})


def _retarget_card(path: Path, config: U2NetConfig, *, repo_id: str, with_code: bool) -> None:
    """Point a card that u2net-hf wrote for a local folder at `repo_id` (see
    [`~u2net_hf.modelcard.retarget_model_card`]); a card of the user's own stays as it is."""
    text = retarget_model_card(
        path.read_text(encoding="utf-8"), model_id=repo_id, preset=preset_of(config) or "full", remote_code=with_code
    )
    if text is not None:
        write_text_atomically(path, text)


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


__all__ = [
    "check_destination",
    "hub_errors",
    "preset_of",
    "push_to_hub",
    "save_for_hub",
    "save_model_folder",
    "stale_files",
]
