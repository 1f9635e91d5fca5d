# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
Quiet loads of U2-Net models: a logging filter that drops the routine lines transformers says about *every*
third-party model, for U2-Net models only.

Imported by `configuration_u2net.py`, which every load imports first (AutoConfig, AutoModel, pipelines; in the
package and as remote code), and by the image processor and the pipeline, which may be loaded alone. It imports
only the standard library, so it travels to the Hub as remote code beside them.
"""

from __future__ import annotations

import logging
import sys


class RoutineMessageFilter(logging.Filter):
    """
    Drop three lines that transformers logs at warning level or above for *every* third-party model, when (and
    only when) they are about a U2-Net model: the image-segmentation pipeline's "The model '...' is not supported
    for image-segmentation" error (it checks built-in names only), 4.x's "Device set to use cpu" and 4.57's "Using
    a slow image processor as `use_fast` is unset" (U2-Net has one processor; there is no fast one to choose).
    The same lines about any other model pass. Installed on import of the configuration, the processor and the
    pipeline (see [`quiet_routine_messages`]), so `trust_remote_code=True` loads are quiet too.
    """

    model_names = ("U2NetForImageSegmentation", "U2NetModel")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "is not supported for" in message:
            return not any(f"The model '{name}'" in message for name in self.model_names)
        if message.startswith("Device set to use"):
            return not _called_for_u2net(lambda local: _is_u2net_model(getattr(local.get("self"), "model", None)))
        if message.startswith("Using a slow image processor"):
            return not _called_for_u2net(
                lambda local: (
                    isinstance(local.get("config_dict"), dict)
                    and local["config_dict"].get("image_processor_type") == "U2NetImageProcessor"
                )
            )
        return True


def _is_u2net_model(model) -> bool:
    return getattr(getattr(model, "config", None), "model_type", None) == "u2net"


def _called_for_u2net(test, depth: int = 12) -> bool:
    """Whether one of the frames that logged the record (the pipeline's `__init__`, the Auto class's
    `from_pretrained`) is about a U2-Net model, by `test` on its local variables."""
    frame = sys._getframe(2)
    for _ in range(depth):
        if frame is None:
            return False
        if test(frame.f_locals):
            return True
        frame = frame.f_back
    return False


ROUTINE_MESSAGE_LOGGERS = ("transformers.pipelines.base", "transformers.models.auto.image_processing_auto")


def quiet_routine_messages() -> None:
    """Install [`RoutineMessageFilter`] on the transformers loggers that say those lines; idempotent (also across
    the copies of this module that remote code loads)."""
    for name in ROUTINE_MESSAGE_LOGGERS:
        logger = logging.getLogger(name)
        if not any(type(f).__name__ == RoutineMessageFilter.__name__ for f in logger.filters):
            logger.addFilter(RoutineMessageFilter())


__all__ = ["RoutineMessageFilter", "quiet_routine_messages"]
