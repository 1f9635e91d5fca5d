# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
What every converter shares: the result type ([`ConvertedCheckpoint`]) and error ([`ConversionError`]), reading
checkpoints without executing code, recognising a file's format and layout, the model's expected tensors, and
the tensor-by-tensor checks that infer the variant.
"""

from __future__ import annotations

import functools
import os
import pickle
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..configuration_u2net import U2NET_PRESETS, U2NetConfig
from ..image_processing_u2net import U2NetImageProcessor
from ..modeling_u2net import U2NetForImageSegmentation
from .layouts import LAYOUT_DESCRIPTIONS

# The supported source layouts, for messages and help texts; each converter module exposes its own entry as
# DESCRIPTION.
# Containers that training scripts wrap a state dict in.
CHECKPOINT_STATE_DICT_KEYS = ("model", "state_dict")
MAX_LISTED_NAMES = 8


class ConversionError(ValueError):
    """A checkpoint that cannot be converted; the message is one line that names the file and the problem."""


@dataclass
class ConvertedCheckpoint:
    """
    A checkpoint translated to the layout of [`U2NetForImageSegmentation`], ready to be loaded strictly.

    Args:
        state_dict (`dict[str, torch.Tensor]`):
            Every tensor of the model's state dict, float32, under the model's names.
        preset (`str`):
            The variant the tensors belong to, `"full"` or `"lite"`.
        layout (`str`):
            The source layout, a key of [`LAYOUT_DESCRIPTIONS`].
        source (`str`):
            Where the tensors came from (a file name), for the model card.
        freeze_batch_norm (`bool`, *optional*, defaults to `False`):
            Stored in the config. True when the source had its batch normalization folded into the
            convolutions: the running statistics are then placeholders that training must not overwrite.
        rescale_by_max (`bool`, *optional*, defaults to `False`):
            Stored in the image processor: True for weights trained by upstream's code, which divides each image
            by its own maximum instead of 255.
        notes (`list[str]`, *optional*):
            Sentences for the model card's provenance section (how the tensors were changed).
    """

    state_dict: dict[str, torch.Tensor]
    preset: str
    layout: str
    source: str
    freeze_batch_norm: bool = False
    rescale_by_max: bool = False
    notes: list[str] = field(default_factory=list)

    def image_processor(self) -> U2NetImageProcessor:
        """The processor that feeds these weights what they were trained on."""
        return U2NetImageProcessor(rescale_by_max=self.rescale_by_max)

    def to_model(self) -> U2NetForImageSegmentation:
        """Build the model and load the tensors strictly, in eval mode."""
        config = U2NetConfig(preset=self.preset, freeze_batch_norm=self.freeze_batch_norm)
        model = U2NetForImageSegmentation(config)
        model.load_state_dict(self.state_dict, strict=True)
        return model.eval()

    def provenance(self) -> str:
        """The model card's provenance paragraph: the source file, its layout, and how the tensors were changed."""
        text = f"Converted with `u2net-hf convert` from `{self.source}` ({LAYOUT_DESCRIPTIONS[self.layout]})."
        return " ".join([text, *self.notes])


# --------------------------------------------------------------------------------------------------------
# Reading checkpoints


def read_torch_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """
    Read a `.pth` checkpoint with `torch.load(..., weights_only=True)`, never executing pickled code.

    Accepts a plain state dict, a training checkpoint holding it under `"model"` or `"state_dict"`, and
    state dicts saved from `nn.DataParallel` (`module.` prefixes).

    Raises:
        `ConversionError`: the file needs code execution to unpickle, is truncated or corrupted, or holds no
        state dict.
    """
    path = Path(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Unsupported global" in str(error) or "GLOBAL" in str(error):
            raise ConversionError(
                f"{path}: this checkpoint stores Python objects that only unpickle by executing code, which is "
                "refused (weights_only=True). If you trust the file, load it with torch.load(path, weights_only=False) "
                "in a separate step, save only its state dict with torch.save(state_dict, 'plain.pth'), and convert that."
            ) from None
        raise ConversionError(f"{path}: not a readable PyTorch checkpoint (truncated or corrupted file?).") from None
    except (RuntimeError, EOFError, IndexError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise ConversionError(
            f"{path}: cannot read the checkpoint; the file is truncated or corrupted ({type(error).__name__})."
        ) from None
    return _unwrap_state_dict(checkpoint, path)


def _unwrap_state_dict(checkpoint, path: Path) -> dict[str, torch.Tensor]:
    for key in CHECKPOINT_STATE_DICT_KEYS:
        if isinstance(checkpoint, Mapping) and isinstance(checkpoint.get(key), Mapping):
            checkpoint = checkpoint[key]
            break
    if not isinstance(checkpoint, Mapping) or not checkpoint:
        raise ConversionError(
            f"{path}: expected a state dict (name -> tensor), or a checkpoint holding one under "
            f"{' or '.join(repr(k) for k in CHECKPOINT_STATE_DICT_KEYS)}; got {type(checkpoint).__name__}."
        )
    not_tensors = [str(name) for name, value in checkpoint.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise ConversionError(f"{path}: entries that are not tensors: {list_names(not_tensors)}.")
    if all(str(name).startswith("module.") for name in checkpoint):  # saved from nn.DataParallel
        checkpoint = {name[len("module.") :]: value for name, value in checkpoint.items()}
    return dict(checkpoint)


def convert_torch_file(
    path: str | os.PathLike,
    convert_state_dict: Callable[..., ConvertedCheckpoint],
    *,
    variant: str | None = None,
) -> ConvertedCheckpoint:
    """
    The `convert` entry point of a converter whose layout is a `.pth` state dict: read the file safely (see
    [`read_torch_state_dict`]) and translate it with that converter's `convert_state_dict`.

    Args:
        path (`str` or `os.PathLike`):
            The checkpoint file.
        convert_state_dict (`Callable[..., ConvertedCheckpoint]`):
            The converter's `convert_state_dict(state_dict, *, variant, source)`.
        variant (`str`, *optional*):
            `"full"` or `"lite"`; inferred from the tensor shapes when omitted.
    """
    return convert_state_dict(read_torch_state_dict(path), variant=variant, source=Path(path).name)


def _supported_layouts() -> str:
    return "Supported layouts: " + "; ".join(LAYOUT_DESCRIPTIONS.values()) + "."


def sniff_file_format(path: str | os.PathLike) -> str:
    """`"onnx"` or `"torch"`, from the file's first bytes (ONNX has no magic number: a protobuf whose first
    field is the IR version), else the suffix."""
    path = Path(path)
    if not path.is_file():
        raise ConversionError(f"{path}: no such file.")
    with open(path, "rb") as file:
        head = file.read(4)
    if not head:
        raise ConversionError(f"{path}: the file is empty.")
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":  # torch zip archive / legacy pickle
        return "torch"
    if head[:1] == b"\x08" or path.suffix.lower() == ".onnx":
        return "onnx"
    if path.suffix.lower() in (".pth", ".pt", ".bin", ".ckpt"):
        return "torch"
    raise ConversionError(f"{path}: not a PyTorch checkpoint or an ONNX file. {_supported_layouts()}")


def detect_layout(state_dict: Mapping[str, torch.Tensor], source: str = "checkpoint") -> str:
    """Tell the source layout of a state dict from its tensor names."""
    names = list(state_dict)
    if any(name.startswith(("stage1.", "stage1d.", "outconv.")) for name in names):
        return "upstream"
    if any(name.startswith(("encode_modules.", "decode_modules.", "side_modules.", "out_conv.")) for name in names):
        return "reference"
    if any(name.startswith("u2net.") for name in names):
        raise ConversionError(
            f"{source}: already in the u2net-hf layout; load it with U2NetForImageSegmentation and save it with "
            "save_pretrained instead of converting it."
        )
    raise ConversionError(
        f"{source}: unknown checkpoint layout (first tensors: {list_names(names, 4)}). {_supported_layouts()} "
        "Pass --from to choose one explicitly."
    )


# --------------------------------------------------------------------------------------------------------
# Variant inference and tensor-by-tensor checks


@functools.cache
def model_tensor_shapes(preset: str) -> dict[str, tuple[int, ...]]:
    """Names and shapes of [`U2NetForImageSegmentation`]'s state dict for a preset, built on the meta
    device so that no memory is allocated."""
    with torch.device("meta"):
        model = U2NetForImageSegmentation(U2NetConfig(preset=preset))
    return {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}


@functools.cache
def conv_units(preset: str) -> tuple[tuple[str, tuple[int, ...], int], ...]:
    """The conv-BN-ReLU units of a preset in the order the network runs them (encoder stages top to bottom,
    then decoder stages bottom to top; inside a block the input conv, the encoder convs, the decoder convs),
    as `(module name, conv weight shape, dilation)`."""
    with torch.device("meta"):
        model = U2NetForImageSegmentation(U2NetConfig(preset=preset))
    units = []
    for part in ("encoder", "decoder"):
        for index, block in enumerate(getattr(model.u2net, part)):
            prefix = f"u2net.{part}.{index}"
            layers = [("input_conv", block.input_conv)]
            layers += [(f"encoder.{j}", layer) for j, layer in enumerate(block.encoder)]
            layers += [(f"decoder.{j}", layer) for j, layer in enumerate(block.decoder)]
            for name, layer in layers:
                units.append((f"{prefix}.{name}", tuple(layer.conv.weight.shape), layer.conv.dilation[0]))
    return tuple(units)


def list_names(names: Iterable[str], limit: int = MAX_LISTED_NAMES) -> str:
    """`a, b, c and 12 more`: enough names to act on, short enough for one line."""
    names = list(names)
    shown = ", ".join(names[:limit])
    return f"{shown} and {len(names) - limit} more" if len(names) > limit else shown


def is_step_counter(name: str) -> bool:
    """Whether a tensor is a BatchNorm step counter: checkpoints saved before PyTorch 0.4.1 have none, and it does
    not affect outputs, so a checkpoint may lack it."""
    return name.endswith("num_batches_tracked")


def tensor_problems(
    tensors: Mapping[str, torch.Tensor],
    expected_shapes: Mapping[str, tuple[int, ...]],
    optional: Callable[[str], bool] = lambda name: False,
) -> list[str]:
    """Everything that keeps `tensors` from matching `expected_shapes` name for name, as message parts:
    missing tensors, unexpected tensors, shape mismatches. Empty when they match."""
    missing = [name for name in expected_shapes if name not in tensors and not optional(name)]
    unexpected = [name for name in tensors if name not in expected_shapes]
    mismatched = [
        f"{name} {tuple(tensors[name].shape)} instead of {shape}"
        for name, shape in expected_shapes.items()
        if name in tensors and tuple(tensors[name].shape) != tuple(shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing tensors ({list_names(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensors ({list_names(unexpected)})")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatches ({list_names(mismatched, 4)})")
    return problems


def infer_preset(
    source: str,
    problems_for: Callable[[str], list[str]],
    variant: str | None = None,
) -> str:
    """
    Find the preset whose tensors the checkpoint matches exactly.

    Args:
        source (`str`):
            The checkpoint's name, for messages.
        problems_for (`Callable[[str], list[str]]`):
            Returns the mismatches between the checkpoint and a preset (see [`tensor_problems`]).
        variant (`str`, *optional*):
            `"full"` or `"lite"` to check against one preset only instead of inferring it.

    Raises:
        `ConversionError`: naming the mismatches against the requested preset, or against the closest one.
    """
    candidates = [variant] if variant is not None else list(U2NET_PRESETS)
    if variant is not None and variant not in U2NET_PRESETS:
        raise ConversionError(f"Unknown variant {variant!r}; choose one of {sorted(U2NET_PRESETS)}.")
    problems = {preset: problems_for(preset) for preset in candidates}
    for preset, found in problems.items():
        if not found:
            return preset
    closest = min(problems, key=lambda preset: len(" ".join(problems[preset])))
    which = f"the {closest!r} variant" if variant is not None else f"any variant (closest: {closest!r})"
    raise ConversionError(f"{source}: does not match {which}: {'; '.join(problems[closest])}.")


def infer_state_dict_preset(
    state_dict: Mapping[str, torch.Tensor],
    expected_shapes: Callable[[str], Mapping[str, tuple[int, ...]]],
    *,
    variant: str | None = None,
    source: str = "checkpoint",
) -> str:
    """[`infer_preset`] for a state dict in a named layout: the preset whose `expected_shapes(preset)` the tensors
    match name for name, step counters being optional."""
    return infer_preset(
        source, lambda candidate: tensor_problems(state_dict, expected_shapes(candidate), is_step_counter), variant
    )


def folded_batch_norm(bias: torch.Tensor, eps: float) -> dict[str, torch.Tensor]:
    """
    BatchNorm tensors that turn `norm(conv(x))` back into the folded `conv(x) + bias` of an export whose
    batch normalization was folded into the convolution.

    Weight 1, mean 0 and variance `1 - eps` (in float32) make eval-mode BatchNorm compute
    `(x - 0) / sqrt((1 - eps) + eps) * 1 + bias`, and `(1 - eps) + eps` rounds to exactly 1.0 in float32, so the
    result is `x + bias` bit for bit. With variance 1 it would be off by a factor `1 / sqrt(1 + eps)`.
    """
    channels = bias.shape[0]
    return {
        "weight": torch.ones(channels),
        "bias": bias.detach().to(torch.float32).clone(),
        "running_mean": torch.zeros(channels),
        "running_var": torch.full((channels,), 1.0 - eps, dtype=torch.float32),
        "num_batches_tracked": torch.tensor(0, dtype=torch.long),
    }


__all__ = [
    "LAYOUT_DESCRIPTIONS",
    "ConversionError",
    "ConvertedCheckpoint",
    "conv_units",
    "convert_torch_file",
    "detect_layout",
    "folded_batch_norm",
    "infer_preset",
    "infer_state_dict_preset",
    "is_step_counter",
    "list_names",
    "model_tensor_shapes",
    "read_torch_state_dict",
    "sniff_file_format",
    "tensor_problems",
]
