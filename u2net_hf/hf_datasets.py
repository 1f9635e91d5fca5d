# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Background removal over a Hugging Face `datasets.Dataset`: a cut-out or mask column, batched, one GPU per
process when there are several.

The function takes the dataset and returns the mapped one, as `Dataset.map` does; push it with
`push_to_hub`. `datasets` is imported by the caller, never by `import u2net_hf`.
"""

from __future__ import annotations

import os

import numpy as np


def remove_backgrounds_dataset(
    dataset,
    *,
    model: str | os.PathLike | None = None,
    image_column: str = "image",
    output_column: str | None = None,
    mask_only: bool = False,
    batch_size: int = 8,
    num_proc: int | None = None,
    backend: str | None = None,
    int8: bool = False,
    **options,
):
    """
    Add a column of cut-outs (RGBA PIL images, stored by `datasets` as images) or soft masks (float32 arrays in
    [0, 1], the model's probability at every pixel, as [`~u2net_hf.Session.predict`] gives) to `dataset`.

    Rows are processed in batches with `Dataset.map(batched=True, with_rank=True)`: with `num_proc` processes and
    CUDA GPUs, process `rank` runs on GPU `rank % count`; each process loads the model once.

    Args:
        dataset (`datasets.Dataset`):
            The dataset; `image_column` holds images (PIL images, as the `Image` feature decodes them, arrays,
            paths or bytes).
        model (`str` or `os.PathLike`, *optional*, defaults to `"u2net-lite"`):
            A model spec, as for [`~u2net_hf.new_session`].
        image_column (`str`, *optional*, defaults to `"image"`):
            The column of images.
        output_column (`str`, *optional*):
            The new column; `"cutout"`, or `"mask"` with `mask_only=True`.
        mask_only (`bool`, *optional*, defaults to `False`):
            Soft masks instead of cut-outs.
        batch_size (`int`, *optional*, defaults to 8):
            Rows per batch, and images per forward pass.
        num_proc (`int`, *optional*):
            Worker processes (one per GPU, say).
        backend (`str`, *optional*):
            See [`~u2net_hf.new_session`].
        int8 (`bool`, *optional*, defaults to `False`):
            See [`~u2net_hf.new_session`].
        options:
            For cut-outs, the options of [`~u2net_hf.remove_background`] (`bg_color`, `threshold`).

    Returns:
        `datasets.Dataset`: the dataset with the new column.

    Example:

    ```python
    >>> from datasets import Dataset
    >>> from PIL import Image
    >>> from u2net_hf.hf_datasets import remove_backgrounds_dataset

    >>> photos = Dataset.from_dict({"image": [Image.new("RGB", (32, 24), "white")] * 2})
    >>> with_masks = remove_backgrounds_dataset(photos, mask_only=True)
    >>> with_masks.column_names
    ['image', 'mask']
    ```
    """
    if image_column not in dataset.column_names:
        raise ValueError(f"The dataset has no column {image_column!r}; its columns: {dataset.column_names}.")
    if mask_only and options:
        raise ValueError(f"{sorted(options)} apply to cut-outs, not to masks (mask_only=True).")
    settings = {"model": None if model is None else os.fspath(model), "backend": backend, "int8": int8}
    column = output_column or ("mask" if mask_only else "cutout")

    def process(batch: dict, rank: int | None) -> dict:
        session = _session(settings, rank)
        images = list(batch[image_column])
        if mask_only:
            return {column: [mask.astype(np.float32) for mask in session.predict(images, batch_size=batch_size)]}
        return {column: list(session.remove_many(images, batch_size=batch_size, **options))}

    return dataset.map(process, batched=True, batch_size=batch_size, with_rank=True, num_proc=num_proc)


def _session(settings: dict, rank: int | None):
    # The package's one session cache: each worker process of `Dataset.map(num_proc=N)` loads the model once.
    from .sessions import cached_session

    return cached_session(
        settings["model"], device=_device_for_rank(rank), backend=settings["backend"], int8=settings["int8"]
    )


def _device_for_rank(rank: int | None) -> str | None:
    import torch

    if rank is None or not torch.cuda.is_available():
        return None  # the session's default: the first GPU, else the CPU
    return f"cuda:{rank % torch.cuda.device_count()}"


__all__ = ["remove_backgrounds_dataset"]
