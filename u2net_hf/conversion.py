# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
Steps shared by the checkpoint converters: reading a checkpoint without executing code, recognising its
layout and its variant from tensor names and shapes, checking it tensor by tensor, and writing a complete,
Hub-ready model folder (weights, config, image processor, model card) atomically.

One converter module per source layout turns a checkpoint into a [`ConvertedCheckpoint`] (tensors already
named and shaped like [`U2NetForImageSegmentation`]'s state dict); [`convert_checkpoint`] chains them.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import pickle
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .configuration_u2net import U2NET_PRESETS, U2NetConfig
from .image_processing_u2net import U2NetImageProcessor
from .modeling_u2net import U2NetForImageSegmentation

# Source layout -> module holding its converter. Imported lazily: the ONNX converter needs `onnx`.
LAYOUTS = {
    "onnx": "convert_rembg_onnx_to_pytorch",
    "upstream": "convert_upstream_u2net_to_pytorch",
    "reference": "convert_reference_u2net_to_pytorch",
}
LAYOUT_DESCRIPTIONS = {
    "onnx": "rembg ONNX export (u2netp.onnx, u2net.onnx, u2net_human_seg.onnx)",
    "upstream": "xuebinqin/U-2-Net .pth (stage1.rebnconvin.conv_s1..., side1, outconv)",
    "reference": "reference implementation .pth (encode_modules, decode_modules, side_modules, out_conv)",
}
# Containers that training scripts wrap a state dict in.
CHECKPOINT_STATE_DICT_KEYS = ("model", "state_dict")

CITATION = """@article{qin2020u2net,
  title   = {U2-Net: Going Deeper with Nested U-Structure for Salient Object Detection},
  author  = {Qin, Xuebin and Zhang, Zichen and Huang, Chenyang and Dehghan, Masood and Zaiane, Osmar R. and Jagersand, Martin},
  journal = {Pattern Recognition},
  volume  = {106},
  pages   = {107404},
  year    = {2020}
}"""
ATTRIBUTION = (
    "U2-Net was designed and trained by Xuebin Qin, Zichen Zhang, Chenyang Huang, Masood Dehghan, Osmar R. Zaiane "
    'and Martin Jagersand ("U2-Net: Going Deeper with Nested U-Structure for Salient Object Detection", Pattern '
    "Recognition 106, 2020). The original code and weights are published at "
    "[xuebinqin/U-2-Net](https://github.com/xuebinqin/U-2-Net) under the Apache License 2.0."
)
TORCH_HUB_REPO = "u2net-hf/u2net-hf"
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
            The source layout, one of [`LAYOUTS`].
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
    raise ConversionError(
        f"{path}: not a PyTorch checkpoint or an ONNX file. Supported layouts: "
        + "; ".join(LAYOUT_DESCRIPTIONS.values())
        + "."
    )


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
        f"{source}: unknown checkpoint layout (first tensors: {list_names(names, 4)}). Supported layouts: "
        + "; ".join(LAYOUT_DESCRIPTIONS.values())
        + ". Pass --from to choose one explicitly."
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


# --------------------------------------------------------------------------------------------------------
# Converting and writing folders


def load_layout_module(layout: str):
    if layout not in LAYOUTS:
        raise ConversionError(f"Unknown source layout {layout!r}; choose one of {sorted(LAYOUTS)}.")
    return importlib.import_module(f".{LAYOUTS[layout]}", __package__)


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
    src = Path(src)
    if layout is not None:
        load_layout_module(layout)  # validates the name before reading a large file
    file_format = sniff_file_format(src)
    if layout == "onnx" or (layout is None and file_format == "onnx"):
        if file_format != "onnx":
            raise ConversionError(f"{src}: --from onnx was given but this is a PyTorch checkpoint.")
        return load_layout_module("onnx").convert_rembg_onnx(src, variant=variant)
    if file_format == "onnx":
        raise ConversionError(f"{src}: --from {layout} was given but this is an ONNX file.")
    state_dict = read_torch_state_dict(src)
    layout = layout or detect_layout(state_dict, str(src))
    converter = load_layout_module(layout)
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
            Keyword arguments for [`write_model_card`], overriding those derived from the checkpoint.
        extra_files (`Mapping[str, str | os.PathLike]`, *optional*):
            Files copied into the folder, as `{name in the folder: source path}` (a LICENSE or NOTICE, say).

    Returns:
        `Path`: the folder written. Nothing is written to `dest` when conversion fails.
    """
    check_destination(dest, overwrite=overwrite)
    converted = read_checkpoint(src, layout=layout, variant=variant)
    card = {"preset": converted.preset, "provenance": describe_provenance(converted), **(model_card or {})}
    card.setdefault("frozen_batch_norm", converted.freeze_batch_norm)
    return save_model_folder(
        converted.to_model(),
        dest,
        image_processor=image_processor or converted.image_processor(),
        model_card=card,
        extra_files=extra_files,
        overwrite=overwrite,
    )


def describe_provenance(converted: ConvertedCheckpoint) -> str:
    text = f"Converted with `u2net-hf convert` from `{converted.source}` ({LAYOUT_DESCRIPTIONS[converted.layout]})."
    return " ".join([text, *converted.notes])


def check_destination(dest: str | os.PathLike, *, overwrite: bool) -> Path:
    """Refuse a destination that would lose data: a file, or a non-empty folder unless `overwrite` (and then
    only a folder that holds a model, so that a mistyped path cannot wipe an unrelated folder)."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ConversionError(f"{dest}: exists and is not a folder; choose another destination.")
    if dest.is_dir() and any(dest.iterdir()):
        if not overwrite:
            raise ConversionError(f"{dest}: folder exists and is not empty; pass --overwrite to replace it.")
        if not (dest / "config.json").is_file():
            raise ConversionError(
                f"{dest}: refusing to overwrite a non-empty folder that does not hold a model (no config.json)."
            )
    return dest


def save_model_folder(
    model: U2NetForImageSegmentation,
    dest: str | os.PathLike,
    *,
    image_processor: U2NetImageProcessor | None = None,
    model_card: Mapping | None = None,
    extra_files: Mapping[str, str | os.PathLike | bytes] | None = None,
    overwrite: bool = False,
) -> Path:
    """
    Write `model` as a complete model folder, atomically: everything goes to a temporary folder beside
    `dest`, which then replaces `dest` in one rename. A failure leaves `dest` as it was.

    Args:
        model ([`U2NetForImageSegmentation`]):
            The model to save (safetensors weights and config.json).
        dest (`str` or `os.PathLike`):
            The folder to write.
        image_processor ([`U2NetImageProcessor`], *optional*):
            Saved as preprocessor_config.json; the default processor when omitted.
        model_card (`Mapping`, *optional*):
            Keyword arguments for [`write_model_card`]; no README.md when omitted.
        extra_files (`Mapping[str, str | os.PathLike | bytes]`, *optional*):
            Extra files, as `{name in the folder: source path or content}`.
        overwrite (`bool`, *optional*, defaults to `False`):
            Replace an existing model folder at `dest`.
    """
    dest = check_destination(dest, overwrite=overwrite).absolute()
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
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
        _replace_folder(staging, dest)
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


def _replace_folder(staging: Path, dest: Path) -> None:
    # mkdtemp (and safetensors) create files private to the user; a model folder is meant to be shared.
    os.chmod(staging, 0o755)
    for path in staging.iterdir():
        os.chmod(path, 0o644)
    if not dest.exists():
        os.replace(staging, dest)
        return
    # A non-empty folder cannot be renamed over: move it aside first, and put it back if the swap fails.
    previous = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=dest.parent))
    os.replace(dest, previous / dest.name)
    try:
        os.replace(staging, dest)
    except BaseException:
        os.replace(previous / dest.name, dest)
        raise
    shutil.rmtree(previous, ignore_errors=True)


# --------------------------------------------------------------------------------------------------------
# Model cards


def render_model_card(
    *,
    preset: str,
    provenance: str,
    model_id: str | None = None,
    title: str | None = None,
    description: str | None = None,
    accuracy: str | None = None,
    license: str = "apache-2.0",
    base_model: str | list[str] | None = None,
    datasets: list[str] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: list[str] | None = None,
    frozen_batch_norm: bool = False,
    bundled_name: str | None = None,
    attribution: str = ATTRIBUTION,
) -> str:
    """
    The text of a model card (README.md) for a U2-Net model folder or Hub repo.

    Args:
        preset (`str`):
            `"full"` or `"lite"`; picks the torch.hub entry point shown.
        provenance (`str`):
            Markdown saying where the weights come from and how they were changed.
        model_id (`str`, *optional*):
            What users pass to load the model: a Hub repo id, a bundled name or a folder. The load snippets
            use a placeholder when omitted.
        title (`str`, *optional*):
            The card's heading; derived from the preset when omitted.
        description (`str`, *optional*):
            A paragraph under the heading.
        accuracy (`str`, *optional*):
            Markdown about training data and measured accuracy. Only figures that were actually measured or
            published belong here.
        license (`str`, *optional*, defaults to `"apache-2.0"`):
            Hub licence identifier.
        base_model (`str` or `list[str]`, *optional*):
            Hub repo id(s) of the model this one was fine-tuned from.
        datasets (`list[str]`, *optional*):
            Hub dataset ids the model was trained or evaluated on.
        metrics (`Mapping[str, float]`, *optional*):
            Evaluation results (such as `{"mae": 0.05}`), listed in the metadata and shown as a table.
        tags (`list[str]`, *optional*):
            Extra Hub tags.
        frozen_batch_norm (`bool`, *optional*, defaults to `False`):
            Whether the batch normalization statistics are placeholders (weights converted from an export
            with folded BatchNorm); adds the fine-tuning advice that follows from it.
        bundled_name (`str`, *optional*):
            The name under which the same weights ship inside the package (`"u2net-lite"`), for the offline
            loading instructions.
        attribution (`str`, *optional*):
            Credit to the original authors.
    """
    from huggingface_hub import ModelCardData

    # library_name is transformers: the folder is a plain transformers checkpoint (config.json with a
    # model_type, safetensors, preprocessor_config.json), so the Hub files it, counts its downloads and shows
    # its snippets as one; the `u2net-hf` tag makes it findable, and the card says to `import u2net_hf` first.
    metadata = ModelCardData(
        library_name="transformers",
        pipeline_tag="image-segmentation",
        license=license,
        tags=_unique(["u2net-hf", "u2net", "salient-object-detection", "background-removal", *(tags or [])]),
        base_model=base_model,
        datasets=datasets,
        metrics=list(metrics) if metrics else None,
    )
    model_ref = model_id or "<model id or folder>"
    title = title or ("U2-Net lite (U2-NetP)" if preset == "lite" else "U2-Net")
    sections = [f"---\n{metadata.to_yaml()}\n---", f"# {title}"]
    if description:
        sections.append(description)
    sections.append(
        "Salient-object / foreground segmentation with U2-Net (Qin et al., 2020): one soft mask per image, "
        "usable as an alpha matte for background removal."
    )
    sections.append(_load_instructions(model_ref, preset, bundled_name=bundled_name))
    if accuracy:
        sections.append(f"## Training data and accuracy\n\n{accuracy}")
    if metrics:
        rows = "\n".join(f"| {name} | {value:.4g} |" for name, value in metrics.items())
        sections.append(f"## Evaluation\n\n| metric | value |\n|---|---|\n{rows}")
    if frozen_batch_norm:
        sections.append(FROZEN_BATCH_NORM_NOTE)
    sections.append(f"## Provenance\n\n{provenance}")
    sections.append(f"## Attribution and licence\n\n{attribution}")
    sections.append(f"## Citation\n\n```bibtex\n{CITATION}\n```")
    return "\n\n".join(sections) + "\n"


FROZEN_BATCH_NORM_NOTE = """## Fine-tuning: keep BatchNorm frozen

These weights come from an export in which every BatchNorm was folded into the convolution before it, so the
original BatchNorm statistics are gone: each BatchNorm holds placeholders (mean 0, variance 1 - eps) that make it
reproduce the folded network exactly in inference mode. In training mode BatchNorm would normalise with batch
statistics instead and the outputs would change completely. The config therefore sets
`freeze_batch_norm: true`, which keeps every BatchNorm in inference mode even under `model.train()`, so
fine-tuning starts from the pretrained behaviour. Set `model.config.freeze_batch_norm = False` only if you
want BatchNorm to re-learn statistics (expect a warm-up)."""


def _load_instructions(model_ref: str, preset: str, *, bundled_name: str | None) -> str:
    hub_entry = "u2net_lite" if preset == "lite" else "u2net_full"
    hub_args = "pretrained=True" if bundled_name else f'pretrained=True, repo_id="{model_ref}"'
    library_ref = bundled_name or model_ref
    offline = (
        f" The same weights ship inside the package under the name `{bundled_name}`: `load_model()` loads them with "
        "no network."
        if bundled_name
        else ""
    )
    return f"""## How to use

`pip install u2net-hf`, then `import u2net_hf` once: it registers U2-Net with transformers' Auto classes.

```python
import torch
from PIL import Image
import u2net_hf  # noqa: F401
from transformers import AutoImageProcessor, AutoModelForImageSegmentation

model = AutoModelForImageSegmentation.from_pretrained("{model_ref}").eval()
processor = AutoImageProcessor.from_pretrained("{model_ref}")
image = Image.open("photo.jpg").convert("RGB")
with torch.no_grad():
    outputs = model(**processor(image, return_tensors="pt"))
mask = processor.post_process_saliency(outputs, target_sizes=[image.size[::-1]])[0]  # (height, width) in [0, 1]
```

With a pipeline:

```python
import u2net_hf  # noqa: F401
from transformers import pipeline

segmenter = pipeline("image-segmentation", model="{model_ref}")
segments = segmenter("photo.jpg")  # [{{"label": "foreground", "score": ..., "mask": PIL image}}]
```

With the u2net-hf API, which caches loaded models.{offline}

```python
from u2net_hf.pretrained import load_image_processor, load_model

model, processor = load_model("{library_ref}"), load_image_processor("{library_ref}")
```

With torch.hub:

```python
import torch

model = torch.hub.load("{TORCH_HUB_REPO}", "{hub_entry}", {hub_args})
```"""


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def write_model_card(folder: str | os.PathLike, **card) -> Path:
    """
    Write README.md into `folder` (atomically: temporary file, then rename). Takes the keyword arguments of
    [`render_model_card`].

    Returns:
        `Path`: the README.md written.
    """
    path = Path(folder) / "README.md"
    write_text_atomically(path, render_model_card(**card))
    return path


def write_text_atomically(path: Path, text: str) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


__all__ = [
    "LAYOUTS",
    "ConversionError",
    "ConvertedCheckpoint",
    "convert_checkpoint",
    "detect_layout",
    "read_checkpoint",
    "read_torch_state_dict",
    "render_model_card",
    "save_model_folder",
    "write_model_card",
]
