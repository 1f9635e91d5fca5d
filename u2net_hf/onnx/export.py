# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""ONNX export of U2-Net (float32 or int8), the on-disk cache of exports, and [`load_onnx_model`], which opens an
export (making it first when the cache has none). Needs the `onnx` package; the int8 recipe lives in
`u2net_hf.onnx.quantize`, the runtime in `u2net_hf.onnx.runtime`."""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from ..configuration_u2net import U2NetConfig
from ..files import write_bytes_atomically
from ..image_processing_u2net import U2NetImageProcessor
from ..pretrained import DEFAULT_MODEL, load_image_processor, load_model
from ..version import __version__
from .quantize import (
    calibration_pixel_values,
    first_stage_activations,
    int8_sensitive_convs,
    int8_weight_type,
    quantize_int8,
)
from .runtime import DEFAULT_OPSET, INPUT_NAME, OUTPUT_NAMES, OnnxU2Net, import_onnx, is_onnx_file, open_onnx_file

CACHE_ENV = "U2NET_HF_CACHE"
# Bump when the export or the int8 recipe changes, so cached exports are made again.
EXPORT_RECIPE_VERSION = 5

logger = logging.getLogger(__name__)


def export_onnx(
    model,
    path: str | os.PathLike,
    *,
    opset: int = DEFAULT_OPSET,
    int8: bool = False,
    calibration_images: Sequence | None = None,
    dynamo: bool = False,
    image_processor: U2NetImageProcessor | None = None,
    int8_weights: str | None = None,
) -> Path:
    """
    Export a U2-Net model to an ONNX file with dynamic batch size, height and width, optionally quantized to
    int8, checked with `onnx.checker`, and carrying its model id and preprocessing in its metadata.

    The graph takes `pixel_values` (float32, `(batch, 3, height, width)`, as made by the model's image
    processor) and returns `logits` and `side_logits` as [`U2NetForImageSegmentation`] does (before the
    sigmoid). Batch normalization is folded into the convolutions. [`OnnxU2Net`] runs the file.

    Args:
        model (`str`, `os.PathLike` or [`U2NetForImageSegmentation`]):
            What to export: a model spec as accepted by [`load_model`] (`"u2net-lite"`, a folder, a Hub repo id)
            or a loaded model (exported in eval mode, in float32; the model itself is not changed).
        path (`str` or `os.PathLike`):
            The `.onnx` file to write. Written atomically: a file already there is replaced only once the new
            one is complete and checked.
        opset (`int`, *optional*, defaults to 17):
            ONNX opset version.
        int8 (`bool`, *optional*, defaults to `False`):
            Quantize to int8 with onnxruntime's static quantization (QDQ format, per-channel int8 weights, uint8
            activations calibrated on real photos). About 2x faster on CPUs than float32; the masks move a
            little (see docs/performance.md for the measured IoU). A few convolutions too sensitive to int8
            weights are kept in float32, found by measuring each one on the calibration images.
        calibration_images (`list`, *optional*):
            Images to calibrate the int8 activation ranges on (PIL images, arrays or file paths): a few photos
            like the ones the model will see. Defaults to photos shipped with scikit-image.
        dynamo (`bool`, *optional*, defaults to `False`):
            Use the `torch.export`-based exporter (needs `onnxscript`) instead of the TorchScript-based one. Both
            give the same outputs; the TorchScript-based one exports about 10x faster here.
        image_processor ([`U2NetImageProcessor`], *optional*):
            The preprocessing stored in the file's metadata (and used to calibrate int8). Defaults to the one
            saved with the model (see [`load_image_processor`]).
        int8_weights (`str`, *optional*):
            With `int8`: `"int8"` weights (fastest on CPUs with int8 dot products: VNNI, ARM64) or `"uint8"`
            (exact on the others, where int8 weights saturate); by default what suits this machine (see
            [`int8_weight_type`]).

    Returns:
        `pathlib.Path`: the path written.

    Example:

    ```python
    >>> from u2net_hf.onnx import OnnxU2Net, export_onnx

    >>> path = export_onnx("u2net-lite", "u2net-lite.onnx")
    >>> onnx_model = OnnxU2Net(path)
    ```
    """
    import_onnx()
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give the path of the .onnx file to write.")
    _check_opset(opset)
    if dynamo:
        try:
            import onnxscript  # noqa: F401
        except ImportError as error:
            raise RuntimeError("export_onnx(dynamo=True) needs onnxscript: pip install onnxscript.") from error
    torch_model, processor, model_id = _resolve(model, image_processor)
    return _write_export(
        torch_model,
        processor,
        path,
        model_id=model_id,
        opset=opset,
        int8=int8,
        calibration_images=calibration_images,
        dynamo=dynamo,
        int8_weights=int8_weights,
    )


def cached_onnx_export(
    model=None,
    image_processor: U2NetImageProcessor | None = None,
    *,
    int8: bool = False,
    opset: int = DEFAULT_OPSET,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """
    The path of the ONNX export of `model`, exporting it only when the cache has none yet.

    The file name holds a hash of the weights, the configuration, the preprocessing and the export settings,
    so a changed or fine-tuned model gets a new export, and two processes exporting at once both end with a
    complete file.

    Args:
        model ([`U2NetForImageSegmentation`], `str` or `os.PathLike`, *optional*, defaults to `"u2net-lite"`):
            A loaded model, used as it is; a model spec as accepted by [`load_model`] is loaded (once).
        image_processor ([`U2NetImageProcessor`], *optional*):
            Its preprocessing; defaults to the one saved with the model (see [`load_image_processor`]).
        int8 (`bool`, *optional*, defaults to `False`):
            The int8 export instead of the float32 one.
        opset (`int`, *optional*, defaults to 17):
            ONNX opset version.
        cache_dir (`str` or `os.PathLike`, *optional*):
            Defaults to `$U2NET_HF_CACHE/onnx`, else `$HF_HOME/u2net-hf/onnx` (`~/.cache/huggingface/u2net-hf/onnx`).
    """
    _check_opset(opset)
    torch_model, processor, model_id = _resolve(model, image_processor)
    key = _fingerprint(torch_model, processor, int8=int8, opset=opset)
    name = _safe_name(model_id) or "u2net"
    path = _default_cache_dir() if cache_dir is None else Path(cache_dir)
    path = path / f"{name}-{key[:16]}{'-int8' if int8 else ''}.onnx"
    if not path.is_file():
        logger.info("Exporting %s to %s (once; later runs reuse it).", name, path)
        _write_export(torch_model, processor, path, model_id=model_id, opset=opset, int8=int8)
    return path


def load_onnx_model(
    model=None,
    *,
    int8: bool = False,
    providers: Sequence[str | tuple[str, dict]] | None = None,
    intra_op_num_threads: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> OnnxU2Net:
    """
    An [`OnnxU2Net`] for an `.onnx` file or a model, exporting the model to ONNX on first use and reusing the
    export (kept on disk, see [`cached_onnx_export`]) after.

    Every call opens a new onnxruntime session; to open one once and run it many times, make a session
    ([`~u2net_hf.new_session`]).

    Args:
        model (`str`, `os.PathLike` or [`U2NetForImageSegmentation`], *optional*, defaults to `"u2net-lite"`):
            An `.onnx` file (opened as it is), or a model spec or model as accepted by [`load_model`].
        int8 (`bool`, *optional*, defaults to `False`):
            Use the int8 export (calibrated on the default photos, see [`export_onnx`]). Not for an `.onnx`
            file, which is run as it is.
        providers (`list`, *optional*):
            onnxruntime execution providers; see [`OnnxU2Net`].
        intra_op_num_threads (`int`, *optional*):
            Threads for the CPU provider; see [`OnnxU2Net`].
        cache_dir (`str` or `os.PathLike`, *optional*):
            Where exports are kept; see [`cached_onnx_export`].

    Example:

    ```python
    >>> import torch
    >>> from u2net_hf.onnx import load_onnx_model

    >>> onnx_model = load_onnx_model("u2net-lite")  # exported once, then reused
    >>> onnx_model(torch.randn(1, 3, 320, 320)).logits.shape
    torch.Size([1, 1, 320, 320])
    ```
    """
    options = {"providers": providers, "intra_op_num_threads": intra_op_num_threads}
    if is_onnx_file(model):
        return open_onnx_file(model, int8=int8, **options)
    return OnnxU2Net(cached_onnx_export(model, int8=int8, cache_dir=cache_dir), **options)


def _check_opset(opset) -> None:
    if not isinstance(opset, int) or isinstance(opset, bool) or not 11 <= opset <= 23:
        raise ValueError(f"opset must be an integer between 11 and 23, got {opset!r}.")


def _resolve(model, image_processor: U2NetImageProcessor | None) -> tuple[nn.Module, U2NetImageProcessor, str]:
    """The model to export (a spec loaded once, a model object as it is), its image processor, and the model id
    the file's metadata and cache name carry: the spec for a spec, so that the file names the model."""
    torch_model = load_model(model)
    processor = image_processor if image_processor is not None else load_image_processor(model)
    if model is None:
        model_id = DEFAULT_MODEL
    elif isinstance(model, (str, os.PathLike)):
        model_id = os.fspath(model)
    else:
        model_id = str(getattr(torch_model, "name_or_path", "") or "")
    return torch_model, processor, model_id


def _write_export(
    model: nn.Module,
    processor: U2NetImageProcessor,
    path: Path,
    *,
    model_id: str,
    opset: int,
    int8: bool,
    calibration_images: Sequence | None = None,
    dynamo: bool = False,
    int8_weights: str | None = None,
) -> Path:
    """Export a loaded model and its processor to `path`: float32, then int8 when asked, then the metadata and the
    checker, then an atomic write."""
    onnx = import_onnx()
    with tempfile.TemporaryDirectory(prefix="u2net-hf-onnx-") as scratch:
        exported = Path(scratch) / "model.onnx"
        _export_float32(model, exported, processor, opset=opset, dynamo=dynamo)
        if int8:
            # Imported here: the int8 recipe imports this module's onnx guard.
            pixel_values = calibration_pixel_values(calibration_images, processor)
            quantized = Path(scratch) / "model.int8.onnx"
            int8_weights = int8_weights or int8_weight_type()
            quantize_int8(
                exported,
                quantized,
                pixel_values,
                keep_float=first_stage_activations(model, exported),
                sensitive_convs=int8_sensitive_convs(model, exported, pixel_values),
                weights=int8_weights,
            )
            exported = quantized

        proto = onnx.load(str(exported))
        _set_metadata(proto, model_id, model.config, processor, int8_weights=int8_weights if int8 else None)
        onnx.checker.check_model(proto, full_check=True)
        # The bytes onnx.save writes (no external data here). Not onnx.save(proto, file): it reads `file.name`
        # as a path to place external data, and the file atomic_write opens is named by its descriptor.
        write_bytes_atomically(path, proto.SerializeToString())
    return path


class _LogitsAndSideLogits(nn.Module):
    """The model with plain tensor outputs, as exporters want them."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(pixel_values, return_dict=False)


def _export_float32(model: nn.Module, path: Path, processor: U2NetImageProcessor, *, opset: int, dynamo: bool) -> None:
    if model.dtype != torch.float32 or model.device.type != "cpu" or model.training:
        model = copy.deepcopy(model).to(device="cpu", dtype=torch.float32).eval()
    wrapper = _LogitsAndSideLogits(model).eval()
    size = processor.size if processor.do_resize else {"height": 320, "width": 320}
    example = torch.randn(1, model.config.num_channels, size["height"], size["width"])
    dynamic_axes = {name: {0: "batch", 2: "height", 3: "width"} for name in (INPUT_NAME, *OUTPUT_NAMES)}
    with warnings.catch_warnings(), torch.no_grad():
        # Shape checks in forward() and the TorchScript exporter's deprecation notice: expected, not actionable.
        warnings.simplefilter("ignore")
        if dynamo:
            batch, height, width = (torch.export.Dim(name, min=1) for name in ("batch", "height", "width"))
            program = torch.onnx.export(
                wrapper,
                (example,),
                dynamo=True,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=list(OUTPUT_NAMES),
                dynamic_shapes={"pixel_values": {0: batch, 2: height, 3: width}},
                verbose=False,
            )
            program.optimize()
            program.save(str(path))
        else:
            # torch < 2.5 has no `dynamo` argument: its export is the TorchScript-based one.
            legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
            torch.onnx.export(
                wrapper,
                (example,),
                str(path),
                **legacy,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=list(OUTPUT_NAMES),
                dynamic_axes=dynamic_axes,
                do_constant_folding=True,
            )


def _set_metadata(
    proto, model_id: str, config: U2NetConfig, processor: U2NetImageProcessor, *, int8_weights: str | None
) -> None:
    size = processor.size
    metadata = {
        "model_id": model_id,
        "model_type": "u2net",
        "precision": "int8" if int8_weights else "float32",
        **({"int8_weights": int8_weights} if int8_weights else {}),
        "image_size": f"{size['height']}x{size['width']}",
        "image_mean": json.dumps(list(processor.image_mean)),
        "image_std": json.dumps(list(processor.image_std)),
        "rescale": "by_max" if processor.rescale_by_max else json.dumps(processor.rescale_factor),
        "outputs": "logits: fused map, side_logits: side maps d1..d6; both before the sigmoid",
        "preprocessor_config": processor.to_json_string(),
        "config": config.to_json_string(use_diff=False),
    }
    del proto.metadata_props[:]
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    proto.producer_name = "u2net-hf"
    proto.producer_version = __version__
    proto.doc_string = f"U2-Net {model_id} exported by u2net-hf {__version__}: salient-object segmentation."


def _safe_name(model_id: str) -> str:
    name = Path(model_id.rstrip("/\\")).name if model_id else ""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


def _fingerprint(model: nn.Module, processor: U2NetImageProcessor, *, int8: bool, opset: int) -> str:
    digest = hashlib.sha256()
    settings = {"int8": int8, "opset": opset, "recipe": EXPORT_RECIPE_VERSION, "u2net_hf": __version__}
    if int8:
        settings["weights"] = int8_weight_type()  # an export made for a CPU with VNNI is no good without
    for text in (json.dumps(settings, sort_keys=True), model.config.to_json_string(), processor.to_json_string()):
        digest.update(text.encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _default_cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]) / "onnx"
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "u2net-hf" / "onnx"


__all__ = [
    "CACHE_ENV",
    "DEFAULT_OPSET",
    "EXPORT_RECIPE_VERSION",
    "cached_onnx_export",
    "export_onnx",
    "load_onnx_model",
]
