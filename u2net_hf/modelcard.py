# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
Model cards (README.md) for U2-Net model folders and Hub repos: one template, shared by `u2net-hf convert`,
`u2net-hf push` and `u2net-hf train`.

[`card_defaults`] is the one place that derives a card's facts from a model's config (which torch.hub entry
point to show, whether the BatchNorm statistics are placeholders, a title for custom networks) and
[`made_with`] the one that names the package version; [`render_model_card`] turns them into text, and
[`retarget_model_card`] points a card written for a local folder at the Hub repo it is pushed to.

What a card promises follows what the repo holds. A repo pushed with its code (the default of `push_to_hub`,
`u2net-hf push` and `train --push-to-hub`) is a transformers repo with remote code: `library_name: transformers`,
and its snippets use `trust_remote_code=True` and run in a Python without u2net-hf (the Hub's own "Use this model"
snippets then work too). A folder or repo without code needs the package: `library_name: u2net-hf`, and every
snippet starts with `import u2net_hf`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from .configuration_u2net import U2NetConfig, preset_of
from .extras import install_command
from .files import write_text_atomically
from .registration import REMOTE_CODE_FILES
from .version import __version__

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
FROZEN_BATCH_NORM_NOTE = """## Fine-tuning: keep BatchNorm frozen

These weights come from an export in which every BatchNorm was folded into the convolution before it, so the
original BatchNorm statistics are gone: each BatchNorm holds placeholders (mean 0, variance 1 - eps) that make it
reproduce the folded network exactly in inference mode. In training mode BatchNorm would normalise with batch
statistics instead and the outputs would change completely. The config therefore sets
`freeze_batch_norm: true`, which keeps every BatchNorm in inference mode even under `model.train()`, so
fine-tuning starts from the pretrained behaviour. Set `model.config.freeze_batch_norm = False` only if you
want BatchNorm to re-learn statistics (expect a warm-up)."""
CUSTOM_TITLE = "U2-Net (custom configuration)"
TORCH_HUB_REPO = "u2net-hf/u2net-hf"
# What works today (the package is not on PyPI yet), and the line that will once it is.
INSTALL_NOTE = (
    f"`{install_command()}` today, or `pip install -e .` in a clone; `pip install u2net-hf` once it is published on "
    "PyPI, which it is not yet"
)
# library_name of repos without code: they load only where the package is installed and imported.
LIBRARY_NAME = "u2net-hf"
HOW_TO_USE = "## How to use"


def made_with(action: str) -> str:
    """`"Pushed with u2net-hf 0.1.0"`: the start of a provenance sentence, naming the version that wrote the card."""
    return f"{action} with u2net-hf {__version__}"


def card_defaults(
    config: U2NetConfig,
    *,
    provenance: str,
    model_id: str | None = None,
    frozen_batch_norm: bool | None = None,
) -> dict:
    """
    The [`render_model_card`] arguments that follow from a model's config; callers add or override the rest.

    Args:
        config ([`U2NetConfig`]):
            The model's config: its stage tables give the preset (a custom network gets the full model's
            torch.hub entry point and a title saying it is custom).
        provenance (`str`):
            Where the weights come from (see [`made_with`]).
        model_id (`str`, *optional*):
            What users pass to load the model.
        frozen_batch_norm (`bool`, *optional*):
            Whether the BatchNorm statistics are placeholders; defaults to the config's `freeze_batch_norm`.
            A caller that can look at the weights knows better (statistics that are real stay real when frozen).
    """
    preset = preset_of(config)
    defaults = {
        "preset": preset or "full",
        "provenance": provenance,
        "model_id": model_id,
        "frozen_batch_norm": bool(config.freeze_batch_norm if frozen_batch_norm is None else frozen_batch_norm),
    }
    if preset is None:
        defaults["title"] = CUSTOM_TITLE
    return defaults


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
    remote_code: bool = False,
    eval_dataset: str | None = None,
) -> str:
    """
    The text of a model card (README.md) for a U2-Net model folder or Hub repo.

    Args:
        preset (`str`):
            `"full"` or `"lite"`; picks the torch.hub entry point shown.
        provenance (`str`):
            Markdown saying where the weights come from and how they were changed.
        model_id (`str`, *optional*):
            What users pass to load the model: a Hub repo id, a bundled name or a folder. Defaults to
            `bundled_name`, else `"."`, the folder the card lies in (a card has no placeholders; convert, push and
            train always name the folder or the repo).
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
            Evaluation results (such as `{"mae": 0.05}`): a `model-index` in the metadata (with `eval_dataset`)
            and a table.
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
        remote_code (`bool`, *optional*, defaults to `False`):
            Whether the repo holds the model's code (see [`~u2net_hf.registration.add_remote_code`]): then
            `library_name: transformers` and snippets with `trust_remote_code=True` that need no u2net-hf; else
            `library_name: u2net-hf` and `import u2net_hf` in every snippet.
        eval_dataset (`str`, *optional*):
            The data set `metrics` were measured on, for the `model-index`; defaults to the first of `datasets`.
    """
    from huggingface_hub import EvalResult, ModelCardData

    # A card with neither names the folder it lies in: `from_pretrained(".")` loads it from there.
    model_ref = model_id or bundled_name or "."
    title = title or ("U2-Net lite (U2-NetP)" if preset == "lite" else "U2-Net")
    evaluated_on = eval_dataset or (datasets[0] if datasets else None) or "unspecified evaluation set"
    metadata = ModelCardData(
        library_name=library_name(remote_code),
        pipeline_tag="image-segmentation",
        license=license,
        tags=_unique(["u2net-hf", "u2net", "salient-object-detection", "background-removal", *(tags or [])]),
        base_model=base_model,
        datasets=datasets,
        metrics=list(metrics) if metrics else None,
        model_name=title if metrics else None,
        eval_results=[
            EvalResult(
                task_type="image-segmentation",
                task_name="Salient object detection",
                dataset_type=evaluated_on,
                dataset_name=evaluated_on,
                metric_type=name,
                metric_name=name,
                metric_value=float(value),
            )
            for name, value in metrics.items()
        ]
        if metrics
        else None,
    )
    sections = [f"---\n{metadata.to_yaml()}\n---", f"# {title}"]
    if description:
        sections.append(description)
    sections.append(
        "Salient-object / foreground segmentation with U2-Net (Qin et al., 2020): one soft mask per image, "
        "usable as an alpha matte for background removal."
    )
    sections.append(load_instructions(model_ref, preset, bundled_name=bundled_name, remote_code=remote_code))
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


def library_name(remote_code: bool) -> str:
    """The card's `library_name`: `transformers` for a repo that carries its code (transformers alone loads it),
    `u2net-hf` for one that needs the package (so the Hub shows no transformers snippet that would fail)."""
    return "transformers" if remote_code else LIBRARY_NAME


def load_instructions(
    model_ref: str, preset: str, *, bundled_name: str | None = None, remote_code: bool = False
) -> str:
    """The card's "How to use" section: loading `model_ref` with the Auto classes and the pipelines (without
    u2net-hf when the repo holds its code, with `import u2net_hf` otherwise), the u2net-hf API and torch.hub
    (whose entry point follows `preset`)."""
    hub_entry = "u2net_lite" if preset == "lite" else "u2net_full"
    hub_args = "pretrained=True" if bundled_name else f'pretrained=True, repo_id="{model_ref}"'
    library_ref = bundled_name or model_ref
    offline = (
        f" The same weights ship inside the package under the name `{bundled_name}`: `load_model()` loads them with "
        "no network."
        if bundled_name
        else ""
    )
    if remote_code:
        code_files = ", ".join(f"`{name}`" for name in REMOTE_CODE_FILES)
        intro = (
            "This repo holds the model's code, so transformers alone loads it: no other package is needed. "
            f"`trust_remote_code=True` runs the repo's Python files ({code_files}) on your machine: read them first, "
            "and pin a reviewed commit with `revision=`. Where u2net-hf is installed, the Auto classes and "
            "`image-segmentation` also load the repo without `trust_remote_code`, with the package's own classes; "
            "`background-removal` still needs it (transformers loads a pipeline that a repo declares from the repo), "
            "and its file then runs on the package."
        )
        package_import, trust = "", ", trust_remote_code=True"
        install = f" Install it with {INSTALL_NOTE}."
    else:
        intro = (
            f"Install u2net-hf with {INSTALL_NOTE}. Then `import u2net_hf` once: it registers U2-Net with "
            "transformers' Auto classes and the `background-removal` pipeline. This repo holds no code, so "
            "transformers cannot load it without the package."
        )
        package_import, trust = "import u2net_hf  # noqa: F401\n", ""
        install = ""
    return f"""{HOW_TO_USE}

{intro}

```python
import torch
from PIL import Image
{package_import}from transformers import AutoImageProcessor, AutoModelForImageSegmentation

model = AutoModelForImageSegmentation.from_pretrained("{model_ref}"{trust}).eval()
processor = AutoImageProcessor.from_pretrained("{model_ref}"{trust})
image = Image.open("photo.jpg").convert("RGB")
with torch.no_grad():
    outputs = model(**processor(image, return_tensors="pt"))
mask = processor.post_process_saliency(outputs, target_sizes=[image.size[::-1]])[0]  # (height, width) in [0, 1]
```

With pipelines: `background-removal` gives an RGBA cut-out with the soft alpha (or the soft mask with
`return_mask=True`); `image-segmentation` gives the foreground as a hard mask, with its score (the peak
foreground probability).

```python
{package_import}from transformers import pipeline

remover = pipeline("background-removal", model="{model_ref}"{trust})
cutout = remover("photo.jpg")  # PIL image, RGBA
mask = remover("photo.jpg", return_mask=True)  # PIL image, "L"
segmenter = pipeline("image-segmentation", model="{model_ref}"{trust})
segments = segmenter("photo.jpg")  # [{{"label": "foreground", "score": ..., "mask": PIL image}}]
```

With the u2net-hf API, which also takes bundled names and local folders and runs on PyTorch or
onnxruntime.{install}{offline}

```python
from u2net_hf import new_session

session = new_session("{library_ref}")
cutout = session.remove("photo.jpg")
```

With torch.hub:

```python
import torch

model = torch.hub.load("{TORCH_HUB_REPO}", "{hub_entry}", {hub_args})
```"""


def retarget_model_card(
    text: str, *, model_id: str, preset: str, remote_code: bool, bundled_name: str | None = None
) -> str | None:
    """
    A card written by u2net-hf for one place (a local folder), pointed at another (the Hub repo it is pushed to):
    the "How to use" section rewritten for `model_id`, and `library_name` set for `remote_code`. Everything else
    (provenance, accuracy, metrics) stays as written.

    Returns:
        `str`, or `None` when `text` is not a card written by u2net-hf (no `u2net-hf` tag or no "How to use"
        section): a card of the user's own is pushed as it is.
    """
    from huggingface_hub import ModelCard

    card = ModelCard(text)
    if "u2net-hf" not in (card.data.tags or []) or f"\n{HOW_TO_USE}\n" not in f"\n{card.text}":
        return None
    if bundled_name is None:
        found = re.search(r"ship inside the package under the name `([^`]+)`", card.text)
        bundled_name = found.group(1) if found else None
    card.data.library_name = library_name(remote_code)
    body = f"\n{card.text}"
    start = body.index(f"\n{HOW_TO_USE}\n")
    following = body.find("\n## ", start + 1)
    while following != -1 and body.count("```", start, following) % 2:  # a heading inside a code block
        following = body.find("\n## ", following + 1)
    section = load_instructions(model_id, preset, bundled_name=bundled_name, remote_code=remote_code)
    body = body[:start] + "\n" + section + ("\n" + body[following:] if following != -1 else "\n")
    return f"---\n{card.data.to_yaml()}\n---\n\n{body.strip()}\n"


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def write_model_card(folder: str | os.PathLike, **card) -> Path:
    """
    Write README.md into `folder`, atomically (see [`~u2net_hf.files.atomic_write`]). Takes the keyword arguments
    of [`render_model_card`].

    Returns:
        `Path`: the README.md written.
    """
    return write_text_atomically(Path(folder) / "README.md", render_model_card(**card))


__all__ = [
    "ATTRIBUTION",
    "CITATION",
    "FROZEN_BATCH_NORM_NOTE",
    "card_defaults",
    "library_name",
    "load_instructions",
    "made_with",
    "render_model_card",
    "retarget_model_card",
    "write_model_card",
]
