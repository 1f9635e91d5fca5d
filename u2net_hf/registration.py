# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Make U2-Net known to the transformers Auto classes, to `pipeline("image-segmentation")` and to
`pipeline("background-removal")`; and make saved folders loadable as remote code.

`import u2net_hf` imports neither transformers nor torch (background removal on onnxruntime needs neither), so
the registration waits for transformers: [`register_when_transformers_loads`] runs [`register_u2net`] as soon as
transformers is imported (at once when it already is), the way post-import hooks do. A program that uses
`AutoModel` imports transformers, and finds U2-Net registered when it does.
"""

from __future__ import annotations

import importlib.abc
import json
import os
import shutil
import sys
import threading
import warnings
from pathlib import Path

from .files import write_text_atomically

BACKGROUND_REMOVAL_TASK = "background-removal"

# Written into config.json of folders saved for `trust_remote_code=True`, so that every Auto class finds its
# class in the code files saved beside the weights. `AutoModel` maps to the segmentation model, as in
# `register_u2net`: a U2-Net checkpoint is a mask predictor, and the bare `U2NetModel` (features only) is loaded by
# its own name. The image processor's entry lives here too, and preprocessor_config.json names no processor class:
# transformers then loads the configuration (ours, which installs the routine-message filter) before it picks the
# processor, instead of warning at once on 4.x that a "slow" processor was saved, and 5.x finds the package's own
# processor where u2net_hf is installed, instead of asking whether to run the repo's.
AUTO_MAP = {
    "AutoConfig": "configuration_u2net.U2NetConfig",
    "AutoModel": "modeling_u2net.U2NetForImageSegmentation",
    "AutoModelForImageSegmentation": "modeling_u2net.U2NetForImageSegmentation",
    "AutoModelForSemanticSegmentation": "modeling_u2net.U2NetForImageSegmentation",
    "AutoImageProcessor": "image_processing_u2net.U2NetImageProcessor",
}
PROCESSOR_CLASS_KEYS = ("image_processor_type", "auto_map")


def register_u2net() -> None:
    """
    Register U2-Net with transformers' Auto classes and register `pipeline("background-removal")`; idempotent.
    Runs by itself once transformers is imported (see [`register_when_transformers_loads`]).

    `AutoModel`, `AutoModelForImageSegmentation` and `AutoModelForSemanticSegmentation` all give
    [`U2NetForImageSegmentation`]: every U2-Net checkpoint holds the side outputs and the fusion, and without them
    there is no mask. [`U2NetModel`] (the stage features) is loaded by name, `U2NetModel.from_pretrained(...)`.
    """
    register_auto_classes()
    register_background_removal_pipeline()


def register_auto_classes() -> None:
    """Register U2-Net's configuration, models and image processor with transformers' Auto classes; idempotent."""
    from transformers import (
        AutoConfig,
        AutoImageProcessor,
        AutoModel,
        AutoModelForImageSegmentation,
        AutoModelForSemanticSegmentation,
    )

    from .configuration_u2net import U2NetConfig
    from .image_processing_u2net import U2NetImageProcessor
    from .modeling_u2net import U2NetForImageSegmentation

    AutoConfig.register(U2NetConfig.model_type, U2NetConfig, exist_ok=True)
    AutoModel.register(U2NetConfig, U2NetForImageSegmentation, exist_ok=True)
    AutoModelForImageSegmentation.register(U2NetConfig, U2NetForImageSegmentation, exist_ok=True)
    AutoModelForSemanticSegmentation.register(U2NetConfig, U2NetForImageSegmentation, exist_ok=True)
    AutoImageProcessor.register(U2NetConfig, slow_image_processor_class=U2NetImageProcessor, exist_ok=True)


def register_background_removal_pipeline() -> None:
    """
    Register `pipeline("background-removal")` ([`~u2net_hf.pipelines.BackgroundRemovalPipeline`]); idempotent.
    Cheap: the pipeline module imports only what its class needs, and loads the package's sessions when a pipeline
    is first made.
    """
    from transformers import AutoModelForImageSegmentation
    from transformers.pipelines import PIPELINE_REGISTRY

    from .pipelines import BackgroundRemovalPipeline

    PIPELINE_REGISTRY.register_pipeline(
        BACKGROUND_REMOVAL_TASK,
        pipeline_class=BackgroundRemovalPipeline,
        pt_model=AutoModelForImageSegmentation,
        type="image",
    )


# transformers' module whose import makes a registration due -> the registration. The Auto classes are needed
# once `transformers.models.auto` is imported (by `from transformers import AutoModel`, `pipeline`, ...), the
# pipeline task once `transformers.pipelines` is: a plain `import transformers` (1 s) stays as light as it is.
REGISTRATIONS = {
    "transformers.models.auto": register_auto_classes,
    "transformers.pipelines": register_background_removal_pipeline,
}


class _RegisterWhenTransformersLoads(importlib.abc.MetaPathFinder):
    """
    A post-import hook: wraps the loaders of transformers' modules and of this package's own, and runs each of
    `REGISTRATIONS` once its module has been imported. Registering imports our model trio, which imports
    transformers: a registration waits until no module of either package is still executing, so that it never
    meets a half-initialized one (transformers' own modules import `transformers.models.auto` midway).
    """

    def __init__(self):
        self._executing = 0  # watched modules whose code is running now, in any thread
        self._done: set[str] = set()
        self._lock = threading.RLock()

    def find_spec(self, fullname, path=None, target=None):
        if not (fullname == "transformers" or fullname.startswith(("transformers.", f"{__package__}."))):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _Watched(spec.loader, self)
        return spec

    def install(self) -> None:
        with self._lock:
            if self not in sys.meta_path and len(self._done) < len(REGISTRATIONS):
                sys.meta_path.insert(0, self)
        self.register_what_is_due()

    def executed(self, started: bool) -> None:
        with self._lock:
            self._executing += 1 if started else -1
        if not started:
            self.register_what_is_due()

    def register_what_is_due(self) -> None:
        with self._lock:
            if self._executing:
                return
            due = [module for module in REGISTRATIONS if module not in self._done and module in sys.modules]
            self._done.update(due)  # one try each: a registration that fails says so once, below
            if len(self._done) == len(REGISTRATIONS) and self in sys.meta_path:
                sys.meta_path.remove(self)
        for module in due:
            try:
                REGISTRATIONS[module]()
            except Exception as error:  # an import that succeeded must not fail because of us
                warnings.warn(
                    f"u2net_hf could not register U2-Net with transformers ({error}); call "
                    "u2net_hf.register_u2net() once transformers is imported.",
                    stacklevel=2,
                )


class _Watched(importlib.abc.Loader):
    """A module's own loader, reporting to the hook when its code starts and ends."""

    def __init__(self, loader, hook: _RegisterWhenTransformersLoads):
        self._loader = loader
        self._hook = hook

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = self._loader  # the module keeps its own loader (for get_source, resources...)
        self._hook.executed(started=True)
        try:
            self._loader.exec_module(module)
        finally:
            self._hook.executed(started=False)

    def __getattr__(self, name):
        return getattr(self._loader, name)


_HOOK = _RegisterWhenTransformersLoads()


def register_when_transformers_loads() -> None:
    """
    Run each registration of U2-Net with transformers (the Auto classes, the background-removal pipeline) now if
    its part of transformers is imported, else as soon as it is; idempotent. Runs on `import u2net_hf`, which
    thereby stays free of transformers and torch.
    """
    _HOOK.install()


REMOTE_CODE_FILES = (
    "configuration_u2net.py",
    "logging_u2net.py",
    "modeling_u2net.py",
    "image_processing_u2net.py",
    "image_transforms_u2net.py",
    "pipelines.py",
)
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
    installed: copy the self-contained code files (the model trio, their helpers and the background-removal
    pipeline) beside the weights, point every Auto class at them through `auto_map` in `config.json`, and declare
    `pipeline("background-removal")` in `custom_pipelines`. Where u2net_hf is installed, the folder still loads
    with the package's own classes and no `trust_remote_code`.

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
    _edit_json(folder / "config.json", update={"auto_map": AUTO_MAP, "custom_pipelines": CUSTOM_PIPELINES})
    if (folder / "preprocessor_config.json").is_file():
        _edit_json(folder / "preprocessor_config.json", drop=PROCESSOR_CLASS_KEYS)
    return list(REMOTE_CODE_FILES)


def remove_remote_code(folder: str | os.PathLike) -> None:
    """
    Undo [`add_remote_code`]: delete the code files, `auto_map` and `custom_pipelines`, and name the processor
    class in `preprocessor_config.json` again; the folder then loads with `import u2net_hf` only.

    Args:
        folder (`str` or `os.PathLike`):
            A folder holding `config.json` (and optionally `preprocessor_config.json`).
    """
    folder = Path(folder)
    for name in REMOTE_CODE_FILES:
        (folder / name).unlink(missing_ok=True)
    _edit_json(folder / "config.json", drop=("auto_map", "custom_pipelines"))
    if (folder / "preprocessor_config.json").is_file():
        _edit_json(
            folder / "preprocessor_config.json",
            update={"image_processor_type": AUTO_MAP["AutoImageProcessor"].rpartition(".")[2]},
            drop=("auto_map",),
        )


def _edit_json(path: Path, *, update: dict | None = None, drop: tuple[str, ...] = ()) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    edited = {key: value for key, value in data.items() if key not in drop} | (update or {})
    if edited != data:  # a file with nothing to change keeps its bytes
        write_text_atomically(path, json.dumps(edited, indent=2, sort_keys=True) + "\n")
