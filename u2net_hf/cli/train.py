# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""`u2net-hf train`: fine-tune U2-Net, or train it from scratch, on a saliency data set. A thin layer over
[`u2net_hf.training.train`]."""

from __future__ import annotations

import argparse
import dataclasses
import os
import typing

from . import CommandError

DESCRIPTION = """\
Fine-tune U2-Net (or train it from scratch) on a saliency data set with transformers' Trainer: the reference
recipe's augmentation (resize 320, random crop 288, horizontal flip), the model's deep-supervision loss, AdamW
(no weight decay on biases and norms), warmup then cosine decay. Checkpoints go to OUTPUT_DIR/checkpoint-N; the
final model, its image processor, a model card (with a model-index of the final metrics), the base weights'
LICENSE and NOTICE, and the results go to OUTPUT_DIR.

--data and --eval-data take a DUTS-style folder (DUTS-TR/ with DUTS-TR-Image/ and DUTS-TR-Mask/), a folder
with images/ and masks/ paired by file name, a folder saved by `datasets`, or a Hub data set id (pip install
'u2net-hf[train]'). Starting from the bundled u2net-lite, BatchNorm statistics stay frozen (its weights have
none); --freeze-batch-norm overrides. Any other transformers TrainingArguments field is reachable with
--training-arg KEY=VALUE."""

EPILOG = """\
examples:
  u2net-hf train --data DUTS-TR --eval-data DUTS-TE --output-dir runs/lite-duts --epochs 10
  u2net-hf train --data my-org/portraits --model u2net-lite --output-dir runs/portraits --max-steps 2000 \\
      --training-arg bf16=true --training-arg gradient_accumulation_steps=2 --push-to-hub my-org/u2net-portraits
  u2net-hf train --data DUTS-TR --model u2net-lite --from-scratch --lr 1e-3 --output-dir runs/scratch
  u2net-hf train --data DUTS-TR --output-dir runs/lite-duts --resume          # continue from the last checkpoint

on several GPUs (or CPU processes), launch the same command with torchrun or accelerate:
  torchrun --nproc_per_node 4 -m u2net_hf train --data DUTS-TR --output-dir runs/lite-duts --batch-size 16
  accelerate launch -m u2net_hf train --data DUTS-TR --output-dir runs/lite-duts"""

# Short flags and the TrainingArguments fields they set.
SHORT_FLAGS = {
    "max_steps": "max_steps",
    "epochs": "num_train_epochs",
    "batch_size": "per_device_train_batch_size",
    "lr": "learning_rate",
    "seed": "seed",
}


def add_parser(subparsers, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="fine-tune or train U2-Net on a saliency data set",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("data")
    data.add_argument("--data", required=True, metavar="PATH|DATASET_ID", help="the training set")
    data.add_argument("--eval-data", metavar="PATH|DATASET_ID", help="a held-out set, scored with each checkpoint")
    data.add_argument("--split", help="split of a Hugging Face training set (default: train)")
    data.add_argument("--eval-split", help="split of a Hugging Face evaluation set")
    data.add_argument("--image-column", help="image column of Hugging Face data sets (default: guessed)")
    data.add_argument("--mask-column", help="mask column of Hugging Face data sets (default: guessed)")
    data.add_argument("--image-size", type=int, default=320, help="images are resized to this side (default: 320)")
    data.add_argument("--crop-size", type=int, default=288, help="side of the random training crop (default: 288)")
    data.add_argument("--no-flip", action="store_true", help="no random horizontal flip")

    model = parser.add_argument_group("model")
    model.add_argument(
        "--model", default="u2net-lite", metavar="NAME|PATH|REPO_ID", help="where to start (default: u2net-lite)"
    )
    model.add_argument("--from-scratch", action="store_true", help="random weights, with --model's architecture")
    model.add_argument(
        "--freeze-batch-norm",
        choices=("auto", "yes", "no"),
        default="auto",
        help="keep BatchNorm statistics fixed (default: auto, frozen for pretrained weights without statistics)",
    )
    model.add_argument(
        "--gradient-checkpointing", action="store_true", help="recompute activations: less memory, more compute"
    )

    run = parser.add_argument_group("training")
    run.add_argument("--output-dir", required=True, help="where checkpoints and the final model are written")
    run.add_argument("--max-steps", type=int, help="optimizer steps (overrides --epochs)")
    run.add_argument("--epochs", type=float, help="passes over the training set (default: 3)")
    run.add_argument("--batch-size", type=int, help="images per step and device (default: 8)")
    run.add_argument("--lr", type=float, help="peak learning rate (default: 1e-4 fine-tuning, 1e-3 from scratch)")
    run.add_argument("--seed", type=int, help="random seed (default: 42)")
    run.add_argument(
        "--resume",
        nargs="?",
        const=True,
        metavar="CHECKPOINT",
        help="resume from CHECKPOINT, or from the last checkpoint in --output-dir",
    )
    run.add_argument(
        "--training-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any transformers TrainingArguments field, e.g. bf16=true, save_steps=1000 (repeatable)",
    )
    run.add_argument(
        "--push-to-hub",
        metavar="REPO_ID",
        help="push the final model, its code, model card and NOTICE to this Hub repo (as `u2net-hf push` does)",
    )
    parser.set_defaults(run=run_command)
    return parser


def parse_training_arguments(pairs: list[str]) -> dict:
    """Turn `KEY=VALUE` strings into TrainingArguments values, converted as transformers' own argument parser
    converts them (`true`/`false`, numbers, enums, JSON for dicts, commas for lists)."""
    from transformers import HfArgumentParser, TrainingArguments

    names = {field.name for field in dataclasses.fields(TrainingArguments) if field.init}
    # From the annotations: HfArgumentParser rewrites the dataclass fields' `type` in place.
    list_fields = {name for name, hint in typing.get_type_hints(TrainingArguments).items() if "list" in str(hint)}
    parser = HfArgumentParser(TrainingArguments, exit_on_error=False)
    arguments = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not separator or not key:
            raise CommandError(f"--training-arg {pair!r}: expected KEY=VALUE, such as warmup_steps=100.")
        if key not in names:
            raise CommandError(
                f"--training-arg {pair!r}: {key!r} is not a transformers TrainingArguments field "
                "(see `python -c 'import transformers; help(transformers.TrainingArguments)'`)."
            )
        try:
            namespace, leftover = parser.parse_known_args([f"--{key}", value])
        except argparse.ArgumentError as error:
            raise CommandError(f"--training-arg {pair!r}: {error}") from None
        if leftover:
            raise CommandError(f"--training-arg {pair!r}: cannot read {' '.join(leftover)!r}.")
        parsed = getattr(namespace, key)
        if key in list_fields:  # lists are written comma-separated: report_to=tensorboard,wandb
            parsed = [item.strip() for part in _as_list(parsed) for item in str(part).split(",") if item.strip()]
        arguments[key] = parsed
    return arguments


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def training_arguments_from(args: argparse.Namespace) -> dict:
    """The TrainingArguments overrides of a command line: --training-arg pairs, then the short flags."""
    arguments = parse_training_arguments(args.training_arg)
    for flag, key in SHORT_FLAGS.items():
        value = getattr(args, flag)
        if value is None:
            continue
        if key in arguments and arguments[key] != value:
            raise CommandError(f"--{flag.replace('_', '-')} and --training-arg {key}=... disagree; give one.")
        arguments[key] = value
    return arguments


def run_command(args: argparse.Namespace) -> int:
    if args.crop_size > args.image_size:
        raise CommandError(f"--crop-size ({args.crop_size}) cannot be larger than --image-size ({args.image_size}).")
    arguments = training_arguments_from(args)
    from ..training import train

    try:
        result = train(
            args.model,
            args.data,
            args.output_dir,
            eval_data=args.eval_data,
            from_scratch=args.from_scratch,
            image_size=args.image_size,
            crop_size=args.crop_size,
            horizontal_flip=not args.no_flip,
            freeze_batch_norm={"auto": "auto", "yes": True, "no": False}[args.freeze_batch_norm],
            gradient_checkpointing=args.gradient_checkpointing,
            split=args.split,
            eval_split=args.eval_split,
            image_column=args.image_column,
            mask_column=args.mask_column,
            resume_from_checkpoint=args.resume,
            push_to_hub=args.push_to_hub,
            **arguments,
        )
    except ImportError as error:
        raise CommandError(str(error)) from error
    if int(os.environ.get("RANK", "0")) == 0:
        _report(result, args)
    return 0


def _report(result, args: argparse.Namespace) -> None:
    from ..metrics import format_metrics_table

    frozen = ", BatchNorm frozen" if result.freeze_batch_norm else ""
    print(
        f"Trained {result.global_step} steps (mean loss {result.training_loss:.4f}{frozen}); model saved to {result.output_dir}"
    )
    if result.skipped:
        print(f"{result.skipped} unreadable training samples were skipped (see the warnings above).")
    if result.metrics:
        print(f"\nEvaluation on {args.eval_data} ({result.metrics['num_images']} images):")
        print(format_metrics_table({key: value for key, value in result.metrics.items() if key != "num_images"}))
    if args.push_to_hub:
        print(f"\nPushed to the Hub: {args.push_to_hub}")
