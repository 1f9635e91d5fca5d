# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Make U2-Net known to the transformers Auto classes, to `pipeline("image-segmentation")` and to
`pipeline("background-removal")`; and make saved folders loadable as remote code."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from transformers import (
    AutoConfig,
    AutoImageProcessor,
    AutoModel,
    AutoModelForImageSegmentation,
    AutoModelForSemanticSegmentation,
)

from .configuration_u2net import U2NetConfig
from .files import write_text_atomically
from .image_processing_u2net import U2NetImageProcessor, quiet_routine_messages
from .modeling_u2net import U2NetForImageSegmentation

BACKGROUND_REMOVAL_TASK = "background-removal"

# Written into config.json / preprocessor_config.json of folders saved for `trust_remote_code=True`, so
# that every Auto class finds its class in the code files saved beside the weights. `AutoModel` maps to the
# segmentation model, as in `register_u2net`: a U2-Net checkpoint is a mask predictor, and the bare
# `U2NetModel` (features only) is loaded by its own name.
AUTO_MAP = {
    "AutoConfig": "configuration_u2net.U2NetConfig",
    "AutoModel": "modeling_u2net.U2NetForImageSegmentation",
    "AutoModelForImageSegmentation": "modeling_u2net.U2NetForImageSegmentation",
    "AutoModelForSemanticSegmentation": "modeling_u2net.U2NetForImageSegmentation",
}
IMAGE_PROCESSOR_AUTO_MAP = {"AutoImageProcessor": "image_processing_u2net.U2NetImageProcessor"}


def register_u2net() -> None:
    """
    Register U2-Net with transformers' Auto classes; idempotent. Runs on `import u2net_hf`.

    `AutoModel`, `AutoModelForImageSegmentation` and `AutoModelForSemanticSegmentation` all give
    [`U2NetForImageSegmentation`]: every U2-Net checkpoint holds the side outputs and the fusion, and without them
    there is no mask. [`U2NetModel`] (the stage features) is loaded by name, `U2NetModel.from_pretrained(...)`.
    """
    AutoConfig.register(U2NetConfig.model_type, U2NetConfig, exist_ok=True)
    AutoModel.register(U2NetConfig, U2NetForImageSegmentation, exist_ok=True)
    AutoModelForImageSegmentation.register(U2NetConfig, U2NetForImageSegmentation, exist_ok=True)
    AutoModelForSemanticSegmentation.register(U2NetConfig, U2NetForImageSegmentation, exist_ok=True)
    AutoImageProcessor.register(U2NetConfig, slow_image_processor_class=U2NetImageProcessor, exist_ok=True)
    quiet_routine_messages()
    register_background_removal_pipeline()


def register_background_removal_pipeline() -> None:
    """
    Register `pipeline("background-removal")` ([`~u2net_hf.pipelines.BackgroundRemovalPipeline`]); idempotent.
    Cheap: the pipeline module imports only what its class needs, and loads the package's sessions when a pipeline
    is first made.
    """
    from transformers.pipelines import PIPELINE_REGISTRY

    from .pipelines import BackgroundRemovalPipeline

    PIPELINE_REGISTRY.register_pipeline(
        BACKGROUND_REMOVAL_TASK,
        pipeline_class=BackgroundRemovalPipeline,
        pt_model=AutoModelForImageSegmentation,
        type="image",
    )


REMOTE_CODE_FILES = ("configuration_u2net.py", "modeling_u2net.py", "image_processing_u2net.py", "pipelines.py")
# Written into config.json of remote-code folders: `pipeline("background-removal", model=...,
# trust_remote_code=True)` then loads the pipeline class from the repo's own `pipelines.py`.
CUSTOM_PIPELINES = {
    BACKGROUND_REMOVAL_TASK: {
        "impl": "pipelines.BackgroundRemovalPipeline",
        "pt": ["AutoModelForImageSegmentation"],
        "tf": [],
        "type": "image",
    }
}


def add_remote_code(folder: str | os.PathLike) -> list[str]:
    """
    Make a folder saved with `save_pretrained` loadable with `trust_remote_code=True` where `u2net_hf` is not
    installed: copy the self-contained code files (the model trio and the background-removal pipeline) beside the
    weights, point every Auto class at them through `auto_map`, and declare `pipeline("background-removal")` in
    `custom_pipelines`.

    Unlike `register_for_auto_class`, this changes no class attribute, so later saves stay code-free.

    Args:
        folder (`str` or `os.PathLike`):
            A folder holding `config.json` (and optionally `preprocessor_config.json`).

    Returns:
        `list[str]`: the names of the code files written.
    """
    folder = Path(folder)
    package = Path(__file__).parent
    for name in REMOTE_CODE_FILES:
        shutil.copyfile(package / name, folder / name)
    _update_json(folder / "config.json", {"auto_map": AUTO_MAP, "custom_pipelines": CUSTOM_PIPELINES})
    if (folder / "preprocessor_config.json").is_file():
        _update_json(folder / "preprocessor_config.json", {"auto_map": IMAGE_PROCESSOR_AUTO_MAP})
    return list(REMOTE_CODE_FILES)


def _update_json(path: Path, values: dict) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(values)
    write_text_atomically(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
