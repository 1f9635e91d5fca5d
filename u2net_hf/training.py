# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
Fine-tune or train U2-Net on a saliency data set with transformers' [`~transformers.Trainer`].

The Trainer (with accelerate underneath) provides mixed precision, gradient accumulation, checkpoints, resuming,
logging and multi-GPU / multi-process runs (`torchrun`, `accelerate launch`); this module adds what is specific to
U2-Net: the data pipeline of the reference recipe, the model's own deep-supervision loss, AdamW without weight
decay on biases and normalization layers, a warmup then cosine schedule, BatchNorm freezing for weights without
BatchNorm statistics, and evaluation with the saliency metrics at the ground truth's resolution.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed

from .configuration_u2net import U2NetConfig
from .data import SaliencyDataset, SaliencyTrainTransform, load_saliency_dataset, load_saliency_eval_dataset
from .files import write_text_atomically
from .image_processing_u2net import U2NetImageProcessor
from .metrics import METRIC_NAMES, evaluate_dataset
from .modelcard import card_defaults, made_with, write_model_card
from .modeling_u2net import U2NetForImageSegmentation
from .pretrained import PRETRAINED_VARIANTS, is_hub_id, load_image_processor, resolve_model_path

logger = logging.getLogger(__name__)

NORMALIZATION_LAYERS = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
    nn.GroupNorm,
    nn.LayerNorm,
)
# Learning rates that work for U2-Net with AdamW: the reference recipe's from scratch, ten times lower to adapt
# pretrained weights without destroying them.
SCRATCH_LEARNING_RATE = 1e-3
FINE_TUNING_LEARNING_RATE = 1e-4
WARMUP_FRACTION = 0.05
# TrainingArguments defaults that differ from transformers' own, chosen for saliency training.
DEFAULT_TRAINING_ARGUMENTS = {
    "per_device_train_batch_size": 8,
    "per_device_eval_batch_size": 8,
    "weight_decay": 1e-4,
    "lr_scheduler_type": "cosine",
    "logging_steps": 10,
    "save_strategy": "steps",
    "save_steps": 500,
    "save_total_limit": 2,
    "report_to": "none",
    # Every parameter takes part in every forward pass; the default search for unused ones costs a graph traversal.
    "ddp_find_unused_parameters": False,
}
TRAINING_ARGUMENT_NAMES = frozenset(f.name for f in dataclasses.fields(TrainingArguments) if f.init)
# Arguments of train() itself that must not be given again as Trainer arguments.
_OWN_ARGUMENTS = {"output_dir", "resume_from_checkpoint", "push_to_hub"}


@dataclass
class TrainResult:
    """
    What [`train`] returns.

    Args:
        output_dir (`str`): Where the trained model, its image processor, model card and results were saved.
        model ([`U2NetForImageSegmentation`]): The trained model, in eval mode.
        global_step (`int`): Optimizer steps done, including those of a resumed run.
        training_loss (`float`): Mean training loss over the steps of this run.
        metrics (`dict`): Final evaluation on `eval_data` (as [`~u2net_hf.metrics.evaluate`] returns it); empty
            without `eval_data`. Also written to `output_dir/eval_results.json`.
        freeze_batch_norm (`bool`): Whether BatchNorm statistics were frozen.
        skipped (`int`): Unreadable training samples skipped (by the main process).
        model_card (`dict`): The model card fields ([`~u2net_hf.hub.push_to_hub`] keyword arguments) of the run.
    """

    output_dir: str
    model: U2NetForImageSegmentation
    global_step: int
    training_loss: float
    metrics: dict[str, float] = field(default_factory=dict)
    freeze_batch_norm: bool = False
    skipped: int = 0
    model_card: dict = field(default_factory=dict)


def train(
    model="u2net-lite",
    data=None,
    output_dir: str | os.PathLike | None = None,
    *,
    eval_data=None,
    from_scratch: bool = False,
    image_size: int = 320,
    crop_size: int = 288,
    horizontal_flip: bool = True,
    freeze_batch_norm: bool | str = "auto",
    gradient_checkpointing: bool = False,
    split: str | None = None,
    eval_split: str | None = None,
    image_column: str | None = None,
    mask_column: str | None = None,
    resume_from_checkpoint: bool | str | None = None,
    push_to_hub: str | None = None,
    callbacks: list[TrainerCallback] | None = None,
    **training_arguments,
) -> TrainResult:
    """
    Fine-tune a U2-Net model (or train one from scratch) on a saliency data set.

    Args:
        model (`str`, `os.PathLike`, [`U2NetForImageSegmentation`] or [`U2NetConfig`], *optional*, defaults to `"u2net-lite"`):
            Where to start: a bundled name (`"u2net-lite"`), a model folder, a Hub repo id, a model object (trained
            in place) or a config (trained from scratch).
        data:
            The training set, as accepted by [`~u2net_hf.data.load_saliency_dataset`]: a DUTS-style folder
            (`DUTS-TR/`), a folder with `images/` + `masks/`, a Hub data set id or a `datasets.Dataset`.
        output_dir (`str` or `os.PathLike`):
            Where checkpoints, the final model, its image processor, `eval_results.json`, `train_results.json` and a
            model card (`README.md`) are written.
        eval_data (*optional*):
            A held-out set, evaluated at every checkpoint and at the end with the saliency metrics.
        from_scratch (`bool`, *optional*, defaults to `False`):
            Start from random weights with the architecture of `model`.
        image_size (`int`, *optional*, defaults to 320):
            Training images are resized to `image_size` x `image_size`, and so are evaluation images; the image
            processor saved with the model uses this size too.
        crop_size (`int`, *optional*, defaults to 288):
            Side of the random training crop.
        horizontal_flip (`bool`, *optional*, defaults to `True`):
            Flip half of the training samples.
        freeze_batch_norm (`bool` or `"auto"`, *optional*, defaults to `"auto"`):
            Keep BatchNorm layers in inference mode (their statistics fixed) while training. `"auto"` freezes them
            when the starting weights are pretrained but have no BatchNorm statistics, as the bundled
            `u2net-lite` (converted from an export with BatchNorm folded into the convolutions): training them
            with batch statistics would first wreck the model. The choice is saved in the model's config.
        gradient_checkpointing (`bool`, *optional*, defaults to `False`):
            Recompute each stage's activations in the backward pass: less memory, about a third more compute.
        split (`str`, *optional*):
            Split of a Hugging Face training set (default `"train"`, or its only split).
        eval_split (`str`, *optional*):
            Split of a Hugging Face evaluation set.
        image_column (`str`, *optional*):
            Image column of Hugging Face data sets.
        mask_column (`str`, *optional*):
            Mask column of Hugging Face data sets.
        resume_from_checkpoint (`bool` or `str`, *optional*):
            `True` to resume from the latest checkpoint in `output_dir`, or a checkpoint folder.
        push_to_hub (`str`, *optional*):
            A Hub repo id: push the final model, its processor and its model card (with the final metrics) there in
            one commit, with [`~u2net_hf.hub.push_to_hub`].
        callbacks (`list[TrainerCallback]`, *optional*):
            Extra Trainer callbacks.
        training_arguments:
            Any [`~transformers.TrainingArguments`] field, such as `max_steps`, `num_train_epochs`,
            `learning_rate`, `per_device_train_batch_size`, `gradient_accumulation_steps`, `bf16`, `save_steps`,
            `seed` or `report_to`. Defaults differing from transformers': batch size 8, learning rate 1e-4 when
            fine-tuning and 1e-3 from scratch, weight decay 1e-4, 5% linear warmup then cosine decay, a log line
            every 10 steps, a checkpoint every 500 steps and at the end (the last 2 kept), evaluation with each
            checkpoint when `eval_data` is given, and no experiment tracker.

    Returns:
        [`TrainResult`]

    Example:

    ```python
    >>> from u2net_hf.training import train
    >>> result = train("u2net-lite", "DUTS-TR", "runs/lite-duts", eval_data="DUTS-TE", num_train_epochs=10)  # doctest: +SKIP
    >>> result.metrics["mae"]  # doctest: +SKIP
    ```
    """
    if data is None or output_dir is None:
        raise ValueError("train() needs data (the training set) and output_dir (where to save the model).")
    scratch = from_scratch or isinstance(model, U2NetConfig)
    args = training_args(
        output_dir,
        has_eval_data=eval_data is not None,
        from_scratch=scratch,
        gradient_checkpointing=gradient_checkpointing,
        **training_arguments,
    )
    # The model is evaluated at image_size, and saved with a processor of that size, so that inference and
    # `evaluate` on the saved folder see images as the training run's evaluation did.
    # A new processor either way (load_image_processor never hands out a shared one): training may change it.
    if isinstance(model, U2NetConfig):
        processor = U2NetImageProcessor()
    else:
        processor = load_image_processor(model, warn_if_missing=True)
    processor.size = {"height": image_size, "width": image_size}

    data_seed = args.data_seed if args.data_seed is not None else args.seed
    train_dataset = load_saliency_dataset(
        data,
        split=split,
        transform=SaliencyTrainTransform(processor, image_size, crop_size, horizontal_flip),
        seed=data_seed,
        image_column=image_column,
        mask_column=mask_column,
    )
    eval_dataset = None
    if eval_data is not None:
        eval_dataset = load_saliency_eval_dataset(
            eval_data, processor, image_size, split=eval_split, image_column=image_column, mask_column=mask_column
        )

    # Seed before building the model, so that a model trained from scratch starts from the same weights each run.
    set_seed(args.seed)
    network, base_model = load_starting_model(model, from_scratch=from_scratch)
    frozen = resolve_freeze_batch_norm(freeze_batch_norm, network, pretrained=not scratch)
    network.config.freeze_batch_norm = frozen

    trainer = U2NetTrainer(
        model=network,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=processor,
        callbacks=[AugmentationEpochCallback(train_dataset), *(callbacks or [])],
    )
    if frozen:
        logger.info("BatchNorm statistics are frozen (freeze_batch_norm=%r).", freeze_batch_norm)
    output = trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    metrics = trainer.final_evaluation() if eval_dataset is not None else {}

    hub_datasets = [d.name for d in (train_dataset, eval_dataset) if d is not None and _is_hub_dataset(d.name)]
    model_card = {
        "base_model": base_model,
        "datasets": list(dict.fromkeys(hub_datasets)),
        "metrics": {key: metrics[key] for key in METRIC_NAMES if key in metrics},
    }
    model_card = {key: value for key, value in model_card.items() if value}
    trainer.save_model(output_dir)
    if trainer.is_world_process_zero():
        trainer.save_state()
        _write_json(Path(output_dir) / "train_results.json", output.metrics)
        if metrics:
            _write_json(Path(output_dir) / "eval_results.json", metrics)
        base_folder = None if scratch or not isinstance(model, (str, os.PathLike)) else resolve_model_path(model)
        write_training_card(
            output_dir,
            network,
            model_card,
            train_dataset,
            eval_dataset,
            output.global_step,
            repo_id=push_to_hub,
            base_folder=base_folder,
        )
        if push_to_hub:
            from .hub import push_to_hub as push

            push(output_dir, push_to_hub)
    if train_dataset.skipped:
        logger.warning("%d unreadable training samples were skipped.", len(train_dataset.skipped))
    return TrainResult(
        output_dir=str(output_dir),
        model=network.eval(),
        global_step=output.global_step,
        training_loss=output.training_loss,
        metrics=metrics,
        freeze_batch_norm=frozen,
        skipped=len(train_dataset.skipped),
        model_card=model_card,
    )


def training_args(
    output_dir,
    *,
    has_eval_data: bool = False,
    from_scratch: bool = False,
    gradient_checkpointing: bool = False,
    **overrides,
) -> TrainingArguments:
    """
    The [`~transformers.TrainingArguments`] of a [`train`] run: this module's defaults (see [`train`]) updated with
    `overrides`, any TrainingArguments fields.

    Raises:
        `TypeError`: an override is not a TrainingArguments field.
    """
    unknown = sorted(set(overrides) - TRAINING_ARGUMENT_NAMES)
    if unknown:
        raise TypeError(
            f"Unknown training argument(s) {', '.join(unknown)}: see transformers.TrainingArguments for the valid names."
        )
    repeated = sorted(set(overrides) & _OWN_ARGUMENTS)
    if repeated:
        raise TypeError(f"Give {', '.join(repeated)} as train() arguments, not as training arguments.")
    arguments = dict(DEFAULT_TRAINING_ARGUMENTS)
    arguments["learning_rate"] = SCRATCH_LEARNING_RATE if from_scratch else FINE_TUNING_LEARNING_RATE
    # transformers 5 takes the warmup fraction as a float warmup_steps; 4.x has warmup_ratio.
    warmup_field = "warmup_ratio" if "warmup_ratio" in TRAINING_ARGUMENT_NAMES else "warmup_steps"
    if not {"warmup_ratio", "warmup_steps"} & set(overrides):
        arguments[warmup_field] = WARMUP_FRACTION
    if has_eval_data:
        arguments["eval_strategy"] = overrides.get("save_strategy", arguments["save_strategy"])
        arguments["eval_steps"] = overrides.get("save_steps", arguments["save_steps"])
    if gradient_checkpointing:
        field_name = (
            "activation_checkpointing"
            if "activation_checkpointing" in TRAINING_ARGUMENT_NAMES
            else "gradient_checkpointing"
        )
        arguments[field_name] = True
    if torch.cuda.is_available():
        # Decoding and resizing JPEGs in the main process would leave a GPU waiting.
        arguments["dataloader_num_workers"] = min(4, os.cpu_count() or 1)
    else:
        arguments["dataloader_pin_memory"] = False  # pinning needs an accelerator; torch warns otherwise
    arguments.update(overrides)
    return TrainingArguments(output_dir=str(output_dir), **arguments)


def load_starting_model(model, *, from_scratch: bool = False) -> tuple[U2NetForImageSegmentation, str | None]:
    """
    The model to train (a fresh one, or the caller's own model object), and the Hub id of the pretrained model it
    starts from (for the model card), if known.
    """
    if isinstance(model, U2NetConfig):
        return U2NetForImageSegmentation(model), None
    if isinstance(model, U2NetForImageSegmentation):
        if from_scratch:
            raise ValueError("from_scratch=True needs a model name, folder or config, not a model object.")
        return model, None
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(
            f"model must be a model name, folder, Hub repo id, U2NetConfig or model, got {type(model).__name__}."
        )
    path = resolve_model_path(model)
    if from_scratch:
        return U2NetForImageSegmentation(U2NetConfig.from_pretrained(path)), None
    variant = PRETRAINED_VARIANTS.get(os.fspath(model))
    base_model = variant.repo_id if variant is not None else None if Path(path).is_dir() else path
    return U2NetForImageSegmentation.from_pretrained(path), base_model


def has_batch_norm_statistics(model: nn.Module) -> bool:
    """Whether any BatchNorm layer holds statistics other than the placeholders of a freshly initialised layer or of
    folded weights (mean 0, variance 1 or 1 - eps)."""
    return any(
        module.running_mean.abs().max() > 0 or (module.running_var - 1).abs().max() > 1e-3
        for module in model.modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats
    )


def resolve_freeze_batch_norm(setting: bool | str, model: nn.Module, *, pretrained: bool) -> bool:
    """Turn `freeze_batch_norm` (`True`, `False` or `"auto"`) into a decision for `model` (see [`train`])."""
    if not isinstance(setting, str):
        return bool(setting)
    if setting != "auto":
        raise ValueError(f"freeze_batch_norm must be True, False or 'auto', got {setting!r}.")
    if not pretrained:
        return False  # random weights: BatchNorm must learn its statistics
    if not has_batch_norm_statistics(model):
        return True  # folded or placeholder statistics: batch statistics would wreck the pretrained model
    return bool(model.config.freeze_batch_norm)


def weight_decay_parameter_names(model: nn.Module) -> list[str]:
    """Names of the parameters that get weight decay: the weights of convolutions and other layers, but no bias and
    no parameter of a normalization layer (decaying those only shrinks the features' scale and shift)."""
    names = []
    for module_name, module in model.named_modules():
        if isinstance(module, NORMALIZATION_LAYERS):
            continue
        for name, _ in module.named_parameters(recurse=False):
            if name != "bias":
                names.append(f"{module_name}.{name}" if module_name else name)
    return names


class U2NetTrainer(Trainer):
    """
    A [`~transformers.Trainer`] for U2-Net: weight decay only on convolution weights, and evaluation that reports the
    saliency metrics of [`~u2net_hf.metrics.evaluate`] (`eval_mae`, `eval_max_fmeasure`, ..., and `eval_loss`),
    each prediction scored at its ground truth's resolution. Every process evaluates the whole evaluation set.
    """

    def get_decay_parameter_names(self, model: nn.Module) -> list[str]:
        return weight_decay_parameter_names(model)

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        dataset = self.eval_dataset if eval_dataset is None else eval_dataset
        if not isinstance(dataset, SaliencyDataset):
            raise ValueError("U2NetTrainer evaluates a SaliencyDataset with a SaliencyEvalTransform; none was given.")
        start = time.time()
        results = self._evaluate_saliency(dataset)
        if dataset is self.eval_dataset:
            self._last_evaluation = (self.state.global_step, results)
        metrics = {f"{metric_key_prefix}_{key}": value for key, value in results.items()}
        metrics[f"{metric_key_prefix}_runtime"] = round(time.time() - start, 4)
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics

    def final_evaluation(self) -> dict[str, float]:
        """Evaluate the trained model on the evaluation set: the metrics as [`~u2net_hf.metrics.evaluate`] returns
        them (no prefix), logged with the `eval_` prefix. Reuses the evaluation of the last step when there was one."""
        step, results = getattr(self, "_last_evaluation", (None, None))
        if step == self.state.global_step:
            return results
        results = self._evaluate_saliency(self.eval_dataset)
        self.log({f"eval_{key}": value for key, value in results.items()})
        return results

    def _evaluate_saliency(self, dataset: SaliencyDataset) -> dict[str, float]:
        return evaluate_dataset(
            self.model,
            dataset,
            self.processing_class,
            batch_size=self.args.per_device_eval_batch_size,
            num_workers=self.args.dataloader_num_workers,
            progress=not self.args.disable_tqdm and self.is_local_process_zero(),
        )


class AugmentationEpochCallback(TrainerCallback):
    """Tell the training set which epoch starts, so that its seeded augmentation differs between epochs but is the
    same for a given epoch in any run (what makes a resumed run match an uninterrupted one)."""

    def __init__(self, dataset: SaliencyDataset):
        self.dataset = dataset

    def on_epoch_begin(self, args, state, control, **kwargs):
        # state.epoch is fractional; a resumed run starts mid-epoch, and epoch boundaries can carry rounding error.
        self.dataset.set_epoch(math.floor((state.epoch or 0) + 1e-6))


def write_training_card(
    output_dir,
    model: U2NetForImageSegmentation,
    model_card: dict,
    train_dataset,
    eval_dataset,
    steps: int,
    repo_id=None,
    base_folder=None,
) -> None:
    """
    Write the model card of a training run (README.md) into `output_dir`, with the final metrics (a table and a
    `model-index`), and the licence files of the weights it derives from: `LICENSE` copied from `base_folder`, and a
    `NOTICE` that says how this model was made, followed by the base model's own NOTICE.
    """
    origin = f"fine-tuned from `{model_card['base_model']}`" if model_card.get("base_model") else "trained"
    provenance = f"{made_with(origin.capitalize())} (`u2net-hf train`) for {steps} steps on `{train_dataset.name}`."
    accuracy = None
    if model_card.get("metrics") and eval_dataset is not None:
        accuracy = (
            f"Evaluated on `{eval_dataset.name}` ({len(eval_dataset)} images), each prediction scored at its ground "
            "truth's resolution with the standard saliency metrics (`u2net-hf evaluate` reproduces these figures)."
        )
    # Real statistics stay real when frozen: the card's advice about placeholders is for folded weights only.
    placeholders = bool(model.config.freeze_batch_norm) and not has_batch_norm_statistics(model)
    model_id = repo_id or str(Path(output_dir).absolute())
    defaults = card_defaults(model.config, provenance=provenance, model_id=model_id, frozen_batch_norm=placeholders)
    evaluated_on = {"eval_dataset": eval_dataset.name} if eval_dataset is not None else {}
    write_model_card(output_dir, **{**defaults, "accuracy": accuracy, **evaluated_on, **model_card})
    write_derived_notice(output_dir, provenance, base_folder)


def write_derived_notice(output_dir, provenance: str, base_folder=None) -> None:
    """`NOTICE` (and `LICENSE`) of a model made from other weights: what was done, then the base model's NOTICE, so
    that a fine-tuned repo keeps the attribution its base weights require."""
    base = Path(base_folder) if base_folder is not None else None
    if base is not None and (base / "LICENSE").is_file():
        write_text_atomically(Path(output_dir) / "LICENSE", (base / "LICENSE").read_text(encoding="utf-8"))
    base_notice = base / "NOTICE" if base is not None else None
    inherited = base_notice.read_text(encoding="utf-8") if base_notice is not None and base_notice.is_file() else ""
    text = provenance.replace("`", "")
    if inherited:
        text += "\n\nThe weights it starts from carry this notice:\n\n" + inherited
    write_text_atomically(Path(output_dir) / "NOTICE", text.rstrip() + "\n")


def _is_hub_dataset(name: str | None) -> bool:
    return bool(name) and is_hub_id(name) and not Path(name).exists()


def _write_json(path: Path, payload: dict) -> None:
    write_text_atomically(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


__all__ = [
    "DEFAULT_TRAINING_ARGUMENTS",
    "AugmentationEpochCallback",
    "TrainResult",
    "U2NetTrainer",
    "has_batch_norm_statistics",
    "load_starting_model",
    "resolve_freeze_batch_norm",
    "train",
    "training_args",
    "weight_decay_parameter_names",
]
