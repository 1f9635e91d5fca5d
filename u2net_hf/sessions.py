# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Sessions: a U2-Net model loaded and ready to segment, as rembg's `new_session` gives.

A [`Session`] owns the loaded model (PyTorch, in the optimized inference mode, or its ONNX export under
onnxruntime), the model's image processor, the device and the thread count, all decided once, when
[`new_session`] makes it. Every surface above (the functional API here, the CLI, servers, batch jobs) takes a
session. `remove_background(image, model=...)` keeps working through one small cache of sessions: the only
model cache of the package.
"""

from __future__ import annotations

import collections
import functools
import itertools
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np
import PIL.Image

from .background import RemoveOptions, compose
from .devices import default_backend, default_num_threads, resolve_device, torch_threads
from .image_transforms_u2net import U2NetTransforms
from .images import ImageInput, encode_image, image_name, load_image, png_save_options, rgb_and_alpha
from .onnx.runtime import OnnxU2Net, is_onnx_file, open_onnx_file, prebuilt_onnx_file, providers_for_device
from .pretrained import DEFAULT_MODEL, is_torch_module, resolve_model_path

if TYPE_CHECKING:
    import torch

    from .image_processing_u2net import U2NetImageProcessor

ImageOutput = PIL.Image.Image | bytes | np.ndarray
# Union, not `|`: torch.nn.Module is named as a string, torch being imported only where a torch model is used.
ModelInput = Union[str, os.PathLike, "torch.nn.Module", OnnxU2Net, None]
BACKENDS = ("torch", "onnxruntime")
ERROR_MODES = ("raise", "return")
# Sessions kept by the functional API (`remove_background(model=...)`): a few models at once, the oldest
# dropped first.
CACHED_SESSIONS = 4
# The errors that belong to one image (unreadable, not an image, cannot be composited or encoded).
_IMAGE_ERRORS = (ValueError, TypeError, OSError, RuntimeError, MemoryError)


class RemovalError(ValueError):
    """
    One image of a run that could not be processed, yielded in its place by
    `Session.remove_many(..., errors="return")`; `str(error)` is one line naming the image.

    Args:
        name (`str`): The image's path, or `"image N"` (its position in the run, from 0).
        index (`int`): Its position in the run.
        reason (`str`): What went wrong, in one line, without the name.
    """

    def __init__(self, name: str, index: int, reason: str, message: str | None = None):
        super().__init__(message or f"{name}: {reason}")
        self.name = name
        self.index = index
        self.reason = reason

    @classmethod
    def from_error(cls, name: str, index: int, error: BaseException) -> RemovalError:
        text = " ".join(str(error).split()) or type(error).__name__
        # The library's own messages already start with the image's name ("photo.png: truncated ...", "image 3
        # is a dict; ..."): keep them as they are.
        for separator in (": ", " "):
            if text.startswith(name + separator):
                return cls(name, index, text[len(name) + len(separator) :], message=text)
        return cls(name, index, text)


@dataclass
class PreparedImage:
    """
    An image made ready for the model and for compositing, by [`prepare_image`].

    Args:
        index (`int`): Its position in the run.
        name (`str`): Its path, or `"image N"`.
        pixel_values (`np.ndarray` of shape `(1, 3, height, width)`, *optional*): The model's input (`None` when
            no processor was given).
        rgb (`np.ndarray`): Its 8-bit RGB pixels, as the processor sees them.
        alpha (`np.ndarray`, *optional*): Its own alpha channel.
        icc_profile (`bytes`, *optional*): The ICC profile the cut-out keeps.
        kind (`type`): What the result comes back as: `PIL.Image.Image`, `bytes` or `np.ndarray`.
    """

    index: int
    name: str
    pixel_values: np.ndarray | None
    rgb: np.ndarray
    alpha: np.ndarray | None
    icc_profile: bytes | None
    kind: type

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[:2]


def prepare_image(image: ImageInput, index: int = 0, image_processor=None) -> PreparedImage:
    """
    Decode an image (see [`~u2net_hf.images.load_image`]) and make it ready for the model (through
    `image_processor`, a [`U2NetImageProcessor`] or its [`~u2net_hf.image_transforms_u2net.U2NetTransforms`],
    when given) and for [`cut_out`]: the one preparation every surface shares.

    Raises:
        `ValueError` or `TypeError`: one line naming the image.
    """
    name = image_name(image, index)
    picture = load_image(image, name=name)
    rgb, alpha = rgb_and_alpha(picture, name)
    # An ICC profile describes colour channels that the cut-out keeps; only an RGB source's still fits.
    icc = picture.info.get("icc_profile") if picture.mode in ("RGB", "RGBA") else None
    del picture
    pixel_values = None
    if image_processor is not None:
        pixel_values = U2NetTransforms.of(image_processor).preprocess(rgb, index)[None]
    return PreparedImage(index, name, pixel_values, rgb, alpha, icc, _output_kind(image))


class Session:
    """
    A U2-Net model loaded and ready to segment: the model on its backend and device, its image processor and
    its thread count. Made by [`new_session`]; every call reuses what it loaded.

    One session may be used from many threads at once (a server does): the model runs one batch at a time, while
    decoding, resizing and compositing run in the calling threads, and results are the same as those of
    sequential calls.

    Args:
        model ([`U2NetForImageSegmentation`], a `torch.nn.Module` or [`~u2net_hf.onnx.OnnxU2Net`]):
            The loaded model; on torch called as `model(pixel_values).logits`, on onnxruntime as
            `model.run(pixel_values)`.
        image_processor ([`U2NetImageProcessor`] or [`~u2net_hf.image_transforms_u2net.U2NetTransforms`]):
            The model's preprocessing and mask post-processing: the processor, or its settings alone (which
            need no transformers).
        backend (`str`):
            `"torch"` or `"onnxruntime"`.
        device (`torch.device`, *optional*):
            Where the model's inputs go on torch (`None` on onnxruntime, which places them itself).
        num_threads (`int`, *optional*):
            CPU threads of the model. On torch, PyTorch's thread count while the model runs (`None`: leave
            PyTorch's setting alone); onnxruntime sessions were given theirs when they were opened.
        name (`str`, *optional*):
            The model spec it was made from, for messages.

    Example:

    ```python
    >>> from PIL import Image
    >>> from u2net_hf import new_session

    >>> session = new_session("u2net-lite")
    >>> cutout = session.remove(Image.new("RGB", (64, 48), "white"))
    >>> cutout.mode, cutout.size
    ('RGBA', (64, 48))
    ```
    """

    def __init__(
        self,
        model,
        image_processor,
        *,
        backend: str,
        device=None,
        num_threads: int | None = None,
        name: str | None = None,
    ):
        if backend not in BACKENDS:
            raise ValueError(f"Unknown backend {backend!r}: use 'torch' or 'onnxruntime'.")
        self.model = model
        self.transforms = U2NetTransforms.of(image_processor)
        self._image_processor = None if isinstance(image_processor, U2NetTransforms) else image_processor
        self.backend = backend
        self.device = device
        self.num_threads = num_threads
        self.name = name or str(getattr(model, "name_or_path", "") or type(model).__name__)
        self._placement = _input_placement(model) if backend == "torch" else None
        self._model_lock = threading.Lock()

    def __repr__(self) -> str:
        device = self.device if self.device is not None else getattr(self.model, "providers", None)
        return f"Session({self.name!r}, backend={self.backend!r}, device={device}, num_threads={self.num_threads})"

    @property
    def image_processor(self) -> U2NetImageProcessor:
        """The model's [`U2NetImageProcessor`] (made from its transforms on first use, which imports
        transformers)."""
        if self._image_processor is None:
            from .image_processing_u2net import U2NetImageProcessor

            self._image_processor = U2NetImageProcessor(**self.transforms.processor_kwargs())
        return self._image_processor

    def with_image_processor(self, image_processor) -> Session:
        """The same loaded model (and the same lock) with another image processor (or transforms)."""
        session = Session(
            self.model,
            image_processor,
            backend=self.backend,
            device=self.device,
            num_threads=self.num_threads,
            name=self.name,
        )
        session._model_lock = self._model_lock
        return session

    def forward(self, pixel_values):
        """
        Run the model on a batch of processed images.

        Args:
            pixel_values (`np.ndarray` or `torch.Tensor` of shape `(batch_size, 3, height, width)`):
                As made by the session's transforms (or its image processor).

        Returns:
            The fused logits, float32, of shape `(batch_size, 1, height, width)`: a `torch.Tensor` for a tensor,
            else an `np.ndarray`.
        """
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(pixel_values, torch.Tensor):
            return torch.from_numpy(self._logits(pixel_values.detach().float().cpu().numpy()))
        return self._logits(np.asarray(pixel_values, dtype=np.float32))

    def _logits(self, pixel_values: np.ndarray) -> np.ndarray:
        # One batch at a time: PyTorch's and onnxruntime's thread pools are shared, and a second batch running
        # beside the first would only slow both down (and change reduction orders, so results).
        with self._model_lock:
            if self.backend == "onnxruntime":
                return self.model.run(pixel_values)[0]
            import torch

            # onnxruntime sessions got their threads when they were opened; PyTorch's pool is set per call.
            threads = torch_threads(self.num_threads) if self.num_threads else nullcontext()
            with threads, torch.inference_mode():
                inputs = torch.from_numpy(pixel_values).to(**self._placement)
                return self.model(inputs).logits.float().cpu().numpy()

    def predict(self, images: ImageInput | Iterable[ImageInput], *, batch_size: int = 4):
        """
        The soft foreground masks of images: the model's probability at every pixel, at each image's own size.

        Args:
            images (an image or a list of images):
                Paths, bytes, PIL images or arrays (see [`~u2net_hf.images.load_image`]).
            batch_size (`int`, *optional*, defaults to 4):
                How many images go through the model at once.

        Returns:
            `np.ndarray` of shape `(height, width)` (float32 in [0, 1]) for one image, a list of them for a list.
        """
        single = not isinstance(images, (list, tuple)) and not _is_iterator(images)
        masks = list(self._run([images] if single else images, _check_batch_size(batch_size), "raise", _probability))
        return masks[0] if single else masks

    def remove(self, image: ImageInput, **options) -> ImageOutput:
        """
        Remove the background of one image.

        Args:
            image (`str`, `os.PathLike`, `bytes`, `PIL.Image.Image` or `np.ndarray`):
                See [`remove_background`].
            **options:
                The options of a removal (`mask_only`, `bg_color`, `threshold`, `output_format`, ...): see
                [`~u2net_hf.background.RemoveOptions`].

        Returns:
            `PIL.Image.Image`, `bytes` or `np.ndarray`: see [`remove_background`].
        """
        options = RemoveOptions.create(**options)
        # One image: nothing to overlap, so no thread pool (a server calls this once per request).
        return next(self._run([image], 1, "raise", functools.partial(cut_out, options=options), workers=1))

    def remove_many(
        self,
        images: Iterable[ImageInput],
        *,
        batch_size: int = 4,
        errors: str = "raise",
        **options,
    ) -> Iterator[ImageOutput | RemovalError]:
        """
        Remove the backgrounds of many images, running the model on `batch_size` images at a time.

        A generator: it reads `images` lazily and yields one result per image, in order, so memory stays bounded
        by the batch size however long the input is. The images of a batch are decoded, resized, composited and
        encoded in parallel, one thread each, and never make the model wait: while it runs on one batch, the next
        is decoded and the last composited and encoded (so a result comes out once the model has run on the
        batch after it, or the input has ended).

        Args:
            images (iterable of images):
                Paths, bytes, PIL images or arrays, of any sizes; each result comes back as the kind of its input
                (see [`remove_background`]).
            batch_size (`int`, *optional*, defaults to 4):
                Images per forward pass. Every image of a batch is held at full resolution with its mask: about
                0.6 GiB per image for 12-megapixel photos.
            errors (`str`, *optional*, defaults to `"raise"`):
                `"raise"`: an image that cannot be processed stops the run with its `ValueError`. `"return"`: a
                [`RemovalError`] naming it is yielded in its place and the run goes on.
            **options:
                The options of a removal: see [`~u2net_hf.background.RemoveOptions`].

        Example:

        ```python
        >>> from PIL import Image
        >>> from u2net_hf import RemovalError, new_session

        >>> session = new_session()
        >>> results = session.remove_many([Image.new("RGB", (8, 8)), b"not an image"], errors="return")
        >>> [isinstance(result, RemovalError) for result in results]
        [False, True]
        ```
        """
        if errors not in ERROR_MODES:
            raise ValueError(f"errors must be 'raise' or 'return', got {errors!r}.")
        options = RemoveOptions.create(**options)
        return self._run(images, _check_batch_size(batch_size), errors, functools.partial(cut_out, options=options))

    def _run(
        self, images: Iterable, batch_size: int, errors: str, finish: Callable, workers: int | None = None
    ) -> Iterator:
        # On full-size photos, decoding, resizing, compositing and encoding cost more than the model: they run in
        # threads, one per image of a batch and two at least (Pillow and numpy release the GIL), while the model
        # runs on the whole batch. So the model never waits for them: the next batch decodes and the last one
        # composites and encodes while it runs, and results come out one batch behind the model.
        workers = workers or min(max(batch_size, 2), os.cpu_count() or 1)
        with ThreadPoolExecutor(workers, thread_name_prefix="u2net-hf") if workers > 1 else nullcontext() as pool:
            prepare = functools.partial(self._prepare, errors=errors)
            finish = functools.partial(self._finish, finish=finish, errors=errors)
            batches = _batched(enumerate(images), batch_size)
            pending = _submit(pool, prepare, next(batches, []))
            finishing = []
            while pending:
                # Read the next batch while the model runs on this one; at most one batch ahead.
                upcoming = _submit(pool, prepare, next(batches, []))
                try:
                    prepared = [outcome() for outcome in pending]
                    ready = [item for item in prepared if isinstance(item, PreparedImage)]
                    probabilities = self._probabilities(ready, errors)
                except Exception:
                    yield from _outcomes(finishing)  # what came before an error still comes out first
                    raise
                del pending
                yield from _outcomes(finishing)
                finished = dict(zip((item.index for item in ready), _submit(pool, finish, ready, probabilities)))
                finishing = [item if isinstance(item, RemovalError) else finished[item.index] for item in prepared]
                del prepared, ready, probabilities, finished
                pending = upcoming
            yield from _outcomes(finishing)

    def _prepare(self, indexed: tuple[int, ImageInput], errors: str) -> PreparedImage | RemovalError:
        index, image = indexed
        try:
            return prepare_image(image, index, self.transforms)
        except _IMAGE_ERRORS as error:
            if errors == "raise":
                raise
            return RemovalError.from_error(image_name(image, index), index, error)

    def _probabilities(self, ready: list[PreparedImage], errors: str) -> list[np.ndarray | RemovalError]:
        if not ready:
            return []
        try:
            logits = self._logits(np.concatenate([item.pixel_values for item in ready]))
        except (RuntimeError, ValueError) as error:
            if errors == "raise":
                raise
            if len(ready) == 1:
                return [RemovalError.from_error(ready[0].name, ready[0].index, error)]
            # One image broke the batch (say, an odd size the model cannot take): run them one by one.
            return [result for item in ready for result in self._probabilities([item], errors)]
        return self.transforms.masks(logits, target_sizes=[item.size for item in ready])

    @staticmethod
    def _finish(item: PreparedImage, probability, *, finish: Callable, errors: str):
        if isinstance(probability, RemovalError):
            return probability
        try:
            return finish(item, probability)
        except _IMAGE_ERRORS as error:
            if errors == "raise":
                raise
            return RemovalError.from_error(item.name, item.index, error)


def _probability(item: PreparedImage, probability: np.ndarray) -> np.ndarray:
    return probability


def cut_out(item: PreparedImage, probability: np.ndarray, *, options: RemoveOptions) -> ImageOutput:
    """
    The result `options` ask for, from a prepared image and its foreground probability at full size (see
    [`~u2net_hf.background.compose`]), in the kind of its input, or encoded in `options.output_format`.
    """
    result = compose(item.rgb, probability, options, alpha=item.alpha, icc_profile=item.icc_profile, name=item.name)
    if options.output_format is not None or item.kind is bytes:
        fmt = options.output_format or "PNG"
        params = png_save_options(options.compress_level) if fmt == "PNG" else {}
        return encode_image(result, fmt, **params)
    if item.kind is np.ndarray:
        return np.asarray(result)
    return result


def _output_kind(image: ImageInput) -> type:
    if isinstance(image, np.ndarray):
        return np.ndarray
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes
    return PIL.Image.Image  # for PIL images and for paths


def _submit(pool: ThreadPoolExecutor | None, function: Callable, *iterables) -> list[Callable]:
    """Start `function` on every item (on the items of several iterables together, as `map` does); returns, in
    order, callables that give each outcome when called."""
    if pool is None:
        return [functools.partial(function, *arguments) for arguments in zip(*iterables)]
    return [pool.submit(function, *arguments).result for arguments in zip(*iterables)]


def _outcomes(results: list) -> Iterator:
    """The results of a batch in order: errors as they are, the others from the callables of [`_submit`]."""
    for result in results:
        yield result if isinstance(result, RemovalError) else result()


def _batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _is_iterator(value) -> bool:
    return isinstance(value, Iterator)  # generators included


def _check_batch_size(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    return batch_size


def _input_placement(model) -> dict:
    """The device and dtype a torch model's inputs must have. PyTorch models say so as `.device`/`.dtype`; a
    plain `nn.Module` is asked through its parameters."""
    if hasattr(model, "device") and hasattr(model, "dtype"):
        return {"device": model.device, "dtype": model.dtype}
    parameter = next(model.parameters())
    return {"device": parameter.device, "dtype": parameter.dtype}


def new_session(
    model: ModelInput = None,
    *,
    backend: str | None = None,
    device: str | None = None,
    int8: bool = False,
    num_threads: int | None = None,
    revision: str | None = None,
) -> Session:
    """
    Load a model once and make it ready to segment, in the spirit of rembg's `new_session`. The one place where
    the backend, the device and the thread count are chosen.

    Args:
        model (`str`, `os.PathLike`, [`U2NetForImageSegmentation`] or [`~u2net_hf.onnx.OnnxU2Net`], *optional*, defaults to `"u2net-lite"`):
            A bundled model name, a local folder saved with `save_pretrained`, a Hub repo id, an `.onnx` file made
            by `u2net-hf export-onnx`, or a loaded model. On onnxruntime, a named model runs its prebuilt ONNX
            files when its folder has them (the bundled model does: no export, no torch), else its export, made
            on first use and cached on disk. On torch, a named model runs in the optimized inference mode (see
            [`~u2net_hf.optimization.optimize_for_inference`]: probabilities within 1e-4 of the eager model's); a
            model object runs as it is, never copied.
        backend (`str`, *optional*):
            `"onnxruntime"` or `"torch"`. By default the fastest correct one here (see
            [`~u2net_hf.devices.default_backend`]): onnxruntime on CPUs (probabilities within 2e-4 of torch's),
            torch where a CUDA or MPS GPU is at hand (or onnxruntime is missing); always torch for a loaded torch
            model unless `int8=True`, always onnxruntime for an `.onnx` file or a loaded `OnnxU2Net`.
        device (`str` or `torch.device`, *optional*):
            `"cpu"`, `"cuda"`, `"cuda:1"`, `"mps"` (torch only). By default the first CUDA GPU when there is one,
            else the CPU; a loaded model stays where it is.
        int8 (`bool`, *optional*, defaults to `False`):
            Run the int8 model under onnxruntime (mask IoU 0.98-0.999 against float32 on real photos): faster than
            float32 on CPUs with int8 dot products (VNNI, ARM64), not on plain AVX2 (see docs/performance.md).
        num_threads (`int`, *optional*):
            CPU threads for the model. By default [`~u2net_hf.devices.default_num_threads`]: every core for
            onnxruntime, the idle cores for PyTorch (or `U2NET_HF_NUM_THREADS`).
        revision (`str`, *optional*):
            Branch, tag or commit of a Hub repo.

    Returns:
        [`Session`].

    Raises:
        `ValueError`: one line for an unknown backend or device, options that do not go together, or a model
        that cannot be loaded as it is saved (see [`~u2net_hf.load_model`]: checkpoints with missing, unexpected
        or mis-shaped tensors are refused).

    Example:

    ```python
    >>> from u2net_hf import new_session

    >>> session = new_session("u2net-lite", device="cpu")
    >>> session.backend
    'onnxruntime'
    >>> new_session("u2net-lite", backend="torch", device="cpu").device
    device(type='cpu')
    ```
    """
    if isinstance(model, Session):
        return model
    backend = _choose_backend(model, backend, int8, device)
    if num_threads is not None and (
        isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1
    ):
        raise ValueError(f"num_threads must be a positive integer, got {num_threads!r}.")
    name = None if is_torch_module(model) or isinstance(model, OnnxU2Net) else os.fspath(model or DEFAULT_MODEL)
    if backend == "torch":
        return _torch_session(model, device, num_threads, revision, name)
    return _onnxruntime_session(model, device, int8, num_threads, revision, name)


def _choose_backend(model: ModelInput, backend: str | None, int8: bool, device) -> str:
    is_onnx = isinstance(model, OnnxU2Net) or is_onnx_file(model)
    if backend is None:
        if is_onnx or int8:
            return "onnxruntime"
        return "torch" if is_torch_module(model) else default_backend(device)
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}: use 'torch' or 'onnxruntime'.")
    if backend == "torch" and int8:
        raise ValueError(
            "int8 runs on the onnxruntime backend, not on torch: choose backend 'onnxruntime' or leave the backend "
            "unset."
        )
    if backend == "torch" and is_onnx:
        described = os.fspath(model) if isinstance(model, (str, os.PathLike)) else type(model).__name__
        raise ValueError(f"{described} is an ONNX model: run it with backend='onnxruntime'.")
    return backend


def _torch_session(model, device, num_threads, revision, name) -> Session:
    from .optimization import optimize_for_inference
    from .pretrained import load_image_processor, load_model, quiet_loading

    device = resolve_device(device, model)
    # No progress bars or load reports from transformers while we load (problems raise instead); the caller's
    # logging settings come back afterwards.
    with quiet_loading():
        if is_torch_module(model):
            loaded, processor = load_model(model, device=device), load_image_processor(model)  # the caller's, as is
        else:
            path = resolve_model_path(model)
            loaded = optimize_for_inference(load_model(path, device=device, revision=revision))
            processor = load_image_processor(path, revision=revision)
    placement = _input_placement(loaded)["device"]
    if placement.type == "cpu" and num_threads is None:
        # PyTorch's thread pool slows down several times over when it shares busy cores: the idle ones only.
        num_threads = default_num_threads("torch")
    return Session(loaded, processor, backend="torch", device=placement, num_threads=num_threads, name=name)


def _onnxruntime_session(model, device, int8, num_threads, revision, name) -> Session:
    providers = providers_for_device(device)
    threads = num_threads or default_num_threads("onnxruntime")
    options = {"providers": providers, "intra_op_num_threads": threads}
    if isinstance(model, OnnxU2Net):
        loaded = model
    elif is_onnx_file(model):
        loaded = open_onnx_file(model, int8=int8, **options)
    else:
        loaded = _prebuilt(model, int8, options) or _exported(model, int8, revision, options)
    return Session(loaded, loaded.transforms, backend="onnxruntime", num_threads=threads, name=name)


def _prebuilt(model, int8: bool, options: dict) -> OnnxU2Net | None:
    """The model's own ONNX file, shipped in its folder (the bundled model's are): opened as it is, with neither
    torch nor transformers."""
    if is_torch_module(model):
        return None
    path = resolve_model_path(model)
    return prebuilt_onnx_file(path, int8=int8, **options) if Path(path).is_dir() else None


def _exported(model, int8: bool, revision, options: dict) -> OnnxU2Net:
    """The model's ONNX export, made on first use by torch and kept in the cache."""
    from .onnx.export import cached_onnx_export
    from .pretrained import load_image_processor, load_model, quiet_loading

    with quiet_loading():
        if is_torch_module(model):
            torch_model, processor = model, load_image_processor(model)
        else:
            path = resolve_model_path(model)
            torch_model = load_model(path, revision=revision)
            processor = load_image_processor(path, revision=revision)
        exported = cached_onnx_export(torch_model, processor, int8=int8)
    return OnnxU2Net(exported, **options)


class _SessionCache:
    """The sessions of the functional API, by spec and options, for as long as the model's files stay the same
    (a folder saved again, say by another training run in the same process, is loaded again)."""

    def __init__(self, size: int):
        self.size = size
        self._sessions: collections.OrderedDict[tuple, Session] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, model: ModelInput, **options) -> Session:
        if isinstance(model, Session):
            return model
        if model is not None and not isinstance(model, (str, os.PathLike)):
            return new_session(model, **options)  # a loaded model: wrapping it costs nothing
        key = (_stamp(model), tuple(sorted((name, str(value)) for name, value in options.items())))
        with self._lock:  # one load per key, even when many threads ask at once
            session = self._sessions.pop(key, None)
            if session is None:
                session = new_session(model, **options)
            self._sessions[key] = session
            while len(self._sessions) > self.size:
                self._sessions.popitem(last=False)
        return session

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()


def _stamp(model: str | os.PathLike | None) -> tuple:
    """What identifies a named model's files: its spec and, for local files and folders, their modification
    times. Hub repo ids are left to the Hub cache, which tracks revisions itself."""
    spec = os.fspath(model) if model is not None else DEFAULT_MODEL
    path = Path(spec if is_onnx_file(spec) else resolve_model_path(spec))
    if path.is_file():
        return (spec, str(path.resolve()), path.stat().st_mtime_ns)
    if path.is_dir():
        return (
            spec,
            str(path.resolve()),
            *sorted((p.name, p.stat().st_mtime_ns) for p in path.iterdir() if p.is_file()),
        )
    return (spec,)


_SESSIONS = _SessionCache(CACHED_SESSIONS)


def cached_session(model: ModelInput = None, **options) -> Session:
    """
    The session the functional API uses for `model` and `options` (the arguments of [`new_session`]): made on
    first use, then kept (up to `CACHED_SESSIONS` of them) until the model's files change.
    """
    return _SESSIONS.get(model, **options)


def remove_background(
    image: ImageInput,
    *,
    session: Session | None = None,
    model: ModelInput = None,
    image_processor: U2NetImageProcessor | None = None,
    device: str | None = None,
    backend: str | None = None,
    int8: bool = False,
    **options,
) -> ImageOutput:
    """
    Remove the background of one image.

    Args:
        image (`str`, `os.PathLike`, `bytes`, `PIL.Image.Image` or `np.ndarray`):
            The image; see [`~u2net_hf.images.load_image`]. The result comes back as the same kind: bytes give
            PNG bytes, an array gives a uint8 array, a PIL image or a path gives a PIL image.
        session ([`Session`], *optional*):
            The loaded model to run (see [`new_session`]); `model`, `device`, `backend` and `int8` then do not
            apply.
        model (`str`, `os.PathLike`, [`U2NetForImageSegmentation`] or [`~u2net_hf.onnx.OnnxU2Net`], *optional*, defaults to `"u2net-lite"`):
            The model, when no `session` is given: see [`new_session`]. Named models get a cached session, made
            once.
        image_processor ([`U2NetImageProcessor`], *optional*):
            The processor to use; by default the one saved with the model (for ONNX, the one in the file).
        device (`str`, *optional*):
            See [`new_session`].
        backend (`str`, *optional*):
            See [`new_session`].
        int8 (`bool`, *optional*, defaults to `False`):
            See [`new_session`].
        **options:
            What to make, as [`~u2net_hf.background.RemoveOptions`] describes them: `mask_only=True` (the mask
            alone, an "L" image), `bg_color` (the cut-out over a colour: `(r, g, b)`, `(r, g, b, a)` or
            `"#ffffff"`), `threshold` (a hard alpha at this foreground probability), `output_format` (encoded
            bytes: `"png"`, `"webp"`), `compress_level` (PNG zlib level), and the edge options (alpha matting,
            mask post-processing, colour decontamination).

    Returns:
        `PIL.Image.Image`, `bytes` or `np.ndarray`: an RGBA cut-out of the input's size, in the input's
        orientation after EXIF rotation. Its colour channels are the input's own pixels, never darkened by the
        mask, wherever the alpha is above 0 (black where it is 0, as nothing shows there); where the input has
        an alpha channel of its own, the cut-out's alpha is the mask times it.

    Example:

    ```python
    >>> from PIL import Image
    >>> from u2net_hf import remove_background

    >>> cutout = remove_background(Image.new("RGB", (64, 48), "white"))
    >>> cutout.mode, cutout.size
    ('RGBA', (64, 48))
    ```
    """
    session = _session_for(session, model, image_processor, device=device, backend=backend, int8=int8)
    return session.remove(image, **options)


def remove_backgrounds(
    images: Iterable[ImageInput],
    *,
    session: Session | None = None,
    model: ModelInput = None,
    image_processor: U2NetImageProcessor | None = None,
    device: str | None = None,
    backend: str | None = None,
    int8: bool = False,
    batch_size: int = 4,
    errors: str = "raise",
    **options,
) -> Iterator[ImageOutput | RemovalError]:
    """
    Remove the backgrounds of many images: [`Session.remove_many`] on `session`, or on the cached session of
    `model`. The model is loaded before the first image is read.

    The arguments are those of [`remove_background`], plus `batch_size` and `errors` (see
    [`Session.remove_many`]).

    Raises:
        `ValueError`: for an image that cannot be read (see [`~u2net_hf.images.load_image`]), when its batch is
        reached, unless `errors="return"`.
    """
    session = _session_for(session, model, image_processor, device=device, backend=backend, int8=int8)
    return session.remove_many(images, batch_size=batch_size, errors=errors, **options)


def _session_for(session: Session | None, model: ModelInput, image_processor, **options) -> Session:
    if session is None:
        session = cached_session(model, **options)
    elif not isinstance(session, Session):
        raise TypeError(f"session must be a Session made by new_session(), got {type(session).__name__}.")
    return session if image_processor is None else session.with_image_processor(image_processor)


__all__ = [
    "BACKENDS",
    "CACHED_SESSIONS",
    "PreparedImage",
    "RemovalError",
    "Session",
    "cached_session",
    "cut_out",
    "new_session",
    "prepare_image",
    "remove_background",
    "remove_backgrounds",
]
