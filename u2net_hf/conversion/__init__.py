# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
Checkpoint conversion, one converter module per source layout, and the steps that chain them: read a
checkpoint without executing code, recognise its layout and its variant, check it tensor by tensor, and write a
complete, Hub-ready model folder atomically.

Each converter module ([`LAYOUTS`]) exposes `LAYOUT`, `DESCRIPTION` and `convert(path, *, variant=None)`, which
turns a file into a [`ConvertedCheckpoint`] (tensors already named and shaped like
[`U2NetForImageSegmentation`]'s state dict); [`read_checkpoint`] picks the converter, [`convert_checkpoint`]
also writes the folder (with [`~u2net_hf.hub.save_model_folder`]).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names as static tools (IDEs, type checkers, the API docs) see them
    from ..files import write_text_atomically  # noqa: F401
    from ..hub import check_destination, save_model_folder  # noqa: F401
    from ..image_processing_u2net import U2NetImageProcessor
    from ..modelcard import (  # noqa: F401
        ATTRIBUTION,
        CITATION,
        FROZEN_BATCH_NORM_NOTE,
        TORCH_HUB_REPO,
        card_defaults,
        render_model_card,
        write_model_card,
    )
    from .common import (  # noqa: F401
        CHECKPOINT_STATE_DICT_KEYS,
        MAX_LISTED_NAMES,
        ConversionError,
        ConvertedCheckpoint,
        conv_units,
        detect_layout,
        folded_batch_norm,
        infer_preset,
        list_names,
        model_tensor_shapes,
        read_torch_state_dict,
        sniff_file_format,
        tensor_problems,
    )

from .layouts import CONVERTER_MODULES, LAYOUT_DESCRIPTIONS

# Names this package re-exports, imported on first use. Some are only re-exported: this package was one module,
# whose model-card, folder and file writers now have homes of their own, and the old imports keep working.
_LAZY_EXPORTS = {
    "write_text_atomically": "..files",
    **dict.fromkeys(("check_destination", "save_model_folder"), "..hub"),
    "U2NetImageProcessor": "..image_processing_u2net",
    **dict.fromkeys(
        (
            "ATTRIBUTION",
            "CITATION",
            "FROZEN_BATCH_NORM_NOTE",
            "TORCH_HUB_REPO",
            "card_defaults",
            "render_model_card",
            "write_model_card",
        ),
        "..modelcard",
    ),
    **dict.fromkeys(
        (
            "CHECKPOINT_STATE_DICT_KEYS",
            "MAX_LISTED_NAMES",
            "ConversionError",
            "ConvertedCheckpoint",
            "conv_units",
            "detect_layout",
            "folded_batch_norm",
            "infer_preset",
            "list_names",
            "model_tensor_shapes",
            "read_torch_state_dict",
            "sniff_file_format",
            "tensor_problems",
        ),
        ".common",
    ),
}


def __getattr__(name: str):
    if name == "LAYOUTS":
        # Source layout -> its converter module, each exposing LAYOUT, DESCRIPTION and convert().
        return {
            layout: importlib.import_module(f".{module}", __name__) for layout, module in CONVERTER_MODULES.items()
        }
    if name in _LAZY_EXPORTS:
        return getattr(importlib.import_module(_LAZY_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def converter_for(layout: str):
    """The converter module of a source layout (see [`LAYOUTS`])."""
    from .common import ConversionError

    if layout not in CONVERTER_MODULES:
        raise ConversionError(f"Unknown source layout {layout!r}; choose one of {sorted(CONVERTER_MODULES)}.")
    return importlib.import_module(f".{CONVERTER_MODULES[layout]}", __name__)


def read_checkpoint(
    src: str | os.PathLike, *, layout: str | None = None, variant: str | None = None
) -> ConvertedCheckpoint:
    """
    Read any supported checkpoint and translate it to the u2net-hf layout, in memory.

    Args:
        src (`str` or `os.PathLike`):
            An ONNX file (rembg layout) or a `.pth` file (upstream or reference layout).
        layout (`str`, *optional*):
            `"onnx"`, `"upstream"` or `"reference"`; detected from the file when omitted.
        variant (`str`, *optional*):
            `"full"` or `"lite"`; inferred from the tensor shapes when omitted.
    """
    from .common import ConversionError, detect_layout, read_torch_state_dict, sniff_file_format

    src = Path(src)
    if layout is not None:
        converter_for(layout)  # validates the name before reading a large file
    file_format = sniff_file_format(src)
    if layout == "onnx" or (layout is None and file_format == "onnx"):
        if file_format != "onnx":
            raise ConversionError(f"{src}: --from onnx was given but this is a PyTorch checkpoint.")
        return converter_for("onnx").convert(src, variant=variant)
    if file_format == "onnx":
        raise ConversionError(f"{src}: --from {layout} was given but this is an ONNX file.")
    # Read once: telling the layout needs the tensor names, and a full-size checkpoint is 176 MB.
    state_dict = read_torch_state_dict(src)
    converter = converter_for(layout or detect_layout(state_dict, str(src)))
    return converter.convert_state_dict(state_dict, variant=variant, source=src.name)


def convert_checkpoint(
    src: str | os.PathLike,
    dest: str | os.PathLike,
    *,
    layout: str | None = None,
    variant: str | None = None,
    overwrite: bool = False,
    image_processor: U2NetImageProcessor | None = None,
    model_card: Mapping | None = None,
    extra_files: Mapping[str, str | os.PathLike] | None = None,
) -> Path:
    """
    Convert a checkpoint in any supported layout into a Hub-ready model folder.

    Args:
        src (`str` or `os.PathLike`):
            The checkpoint file (see [`read_checkpoint`]).
        dest (`str` or `os.PathLike`):
            The folder to write: `config.json`, `model.safetensors`, `preprocessor_config.json`, `README.md`.
            It must not exist or be empty, unless `overwrite`.
        layout (`str`, *optional*):
            Source layout; detected when omitted.
        variant (`str`, *optional*):
            `"full"` or `"lite"`; inferred from the tensor shapes when omitted.
        overwrite (`bool`, *optional*, defaults to `False`):
            Replace an existing model folder at `dest`.
        image_processor ([`U2NetImageProcessor`], *optional*):
            Saved with the weights; by default, the processor matching the source's training (upstream's
            divide-by-maximum for rembg and upstream weights, the usual 1/255 for the reference layout).
        model_card (`Mapping`, *optional*):
            Keyword arguments for [`~u2net_hf.modelcard.write_model_card`], overriding those derived from the
            checkpoint.
        extra_files (`Mapping[str, str | os.PathLike]`, *optional*):
            Files copied into the folder, as `{name in the folder: source path}` (a LICENSE or NOTICE, say).

    Returns:
        `Path`: the folder written. Nothing is written to `dest` when conversion fails.

    Raises:
        `ConversionError`: the checkpoint cannot be converted, or `dest` would lose data (checked before the
        checkpoint is read).
    """
    from ..hub import check_destination, save_model_folder
    from ..modelcard import card_defaults
    from .common import ConversionError

    try:
        check_destination(dest, overwrite=overwrite)
    except FileExistsError as error:
        raise ConversionError(str(error)) from None  # one error type for everything this function refuses
    converted = read_checkpoint(src, layout=layout, variant=variant)
    model = converted.to_model()
    return save_model_folder(
        model,
        dest,
        image_processor=image_processor or converted.image_processor(),
        model_card={**card_defaults(model.config, provenance=converted.provenance()), **(model_card or {})},
        extra_files=extra_files,
        overwrite=overwrite,
    )


__all__ = [
    "LAYOUTS",
    "LAYOUT_DESCRIPTIONS",
    "ConversionError",
    "ConvertedCheckpoint",
    "conv_units",
    "convert_checkpoint",
    "converter_for",
    "detect_layout",
    "folded_batch_norm",
    "infer_preset",
    "list_names",
    "model_tensor_shapes",
    "read_checkpoint",
    "read_torch_state_dict",
    "sniff_file_format",
    "tensor_problems",
]
