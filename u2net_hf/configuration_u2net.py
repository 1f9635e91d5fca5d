# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""U2-Net model configuration."""

from __future__ import annotations

try:  # transformers >= 5
    from transformers import PreTrainedConfig
except ImportError:  # transformers 4.x
    from transformers import PretrainedConfig as PreTrainedConfig

from .logging_u2net import quiet_routine_messages

# Every load of a U2-Net model imports its configuration first, remote code included: from here on, transformers'
# routine lines about third-party models are dropped for U2-Net models (see `logging_u2net.py`).
quiet_routine_messages()


# One row per stage: (height, in_channels, mid_channels, out_channels, dilated, side_output).
# `dilated` selects the RSU-xF block (dilated convolutions, no pooling); `side_output` attaches
# a 3x3 side convolution whose map takes part in the fused prediction.
STAGE_FIELDS = ("height", "in_channels", "mid_channels", "out_channels", "dilated", "side_output")

U2NET_PRESETS = {
    "full": {
        "encoder_stages": [
            [7, 3, 32, 64, False, False],
            [6, 64, 32, 128, False, False],
            [5, 128, 64, 256, False, False],
            [4, 256, 128, 512, False, False],
            [4, 512, 256, 512, True, False],
            [4, 512, 256, 512, True, True],
        ],
        "decoder_stages": [
            [4, 1024, 256, 512, True, True],
            [4, 1024, 128, 256, False, True],
            [5, 512, 64, 128, False, True],
            [6, 256, 32, 64, False, True],
            [7, 128, 16, 64, False, True],
        ],
    },
    "lite": {
        "encoder_stages": [
            [7, 3, 16, 64, False, False],
            [6, 64, 16, 64, False, False],
            [5, 64, 16, 64, False, False],
            [4, 64, 16, 64, False, False],
            [4, 64, 16, 64, True, False],
            [4, 64, 16, 64, True, True],
        ],
        "decoder_stages": [
            [4, 128, 16, 64, True, True],
            [4, 128, 16, 64, False, True],
            [5, 128, 16, 64, False, True],
            [6, 128, 16, 64, False, True],
            [7, 128, 16, 64, False, True],
        ],
    },
}


class U2NetConfig(PreTrainedConfig):
    r"""
    This is the configuration class to store the configuration of a [`U2NetModel`] or a
    [`U2NetForImageSegmentation`]. It describes the network as data: one row per encoder and
    decoder stage. The defaults give the full U2-Net of Qin et al. (2020), 44.0 M parameters;
    `U2NetConfig(preset="lite")` gives U2-NetP, 1.13 M parameters.

    Each stage row is `[height, in_channels, mid_channels, out_channels, dilated, side_output]`:
    `height` is the depth L of the residual U-block (RSU-L), `dilated` selects the RSU-LF block
    that replaces pooling by dilated convolutions, and `side_output` attaches a side convolution
    whose map is fused into the final prediction. Encoder stages run top to bottom with a 2x2
    max-pool between them; decoder stages run bottom to top, each taking the upsampled deeper
    map concatenated with the skip from the encoder stage at its resolution.

    Args:
        encoder_stages (`list[list]`, *optional*, defaults to the full U2-Net encoder):
            Rows for the encoder stages, top (input resolution) first.
        decoder_stages (`list[list]`, *optional*, defaults to the full U2-Net decoder):
            Rows for the decoder stages, deepest first. There is one fewer decoder stage than
            encoder stages: the deepest encoder stage is the bottleneck.
        preset (`str`, *optional*):
            `"full"` or `"lite"`: fills `encoder_stages` and `decoder_stages` from the published
            variant's table. Not stored; explicit tables take precedence.
        num_channels (`int`, *optional*, defaults to 3):
            Number of input channels.
        out_channels (`int`, *optional*, defaults to 1):
            Number of channels of every side map and of the fused map (1 for saliency).
        batch_norm_eps (`float`, *optional*, defaults to 1e-5):
            Epsilon of the batch normalization layers.
        batch_norm_momentum (`float`, *optional*, defaults to 0.1):
            Momentum of the batch normalization running statistics.
        freeze_batch_norm (`bool`, *optional*, defaults to `False`):
            Keep every batch normalization layer in inference mode (running statistics used and
            not updated) even while the model trains. Needed when fine-tuning weights whose
            statistics were folded away, such as the bundled `u2net-lite`.

    Example:

    ```python
    >>> from u2net_hf import U2NetConfig, U2NetForImageSegmentation

    >>> config = U2NetConfig(preset="lite")
    >>> model = U2NetForImageSegmentation(config)
    >>> sum(p.numel() for p in model.parameters())
    1128333
    ```
    """

    model_type = "u2net"

    def __init__(
        self,
        encoder_stages=None,
        decoder_stages=None,
        preset=None,
        num_channels=3,
        out_channels=1,
        batch_norm_eps=1e-5,
        batch_norm_momentum=0.1,
        freeze_batch_norm=False,
        **kwargs,
    ):
        if preset is not None and preset not in U2NET_PRESETS:
            raise ValueError(f"Unknown U2-Net preset {preset!r}; choose one of {sorted(U2NET_PRESETS)}.")
        defaults = U2NET_PRESETS[preset or "full"]
        self.encoder_stages = _as_rows(defaults["encoder_stages"] if encoder_stages is None else encoder_stages)
        self.decoder_stages = _as_rows(defaults["decoder_stages"] if decoder_stages is None else decoder_stages)
        self.num_channels = num_channels
        self.out_channels = out_channels
        self.batch_norm_eps = batch_norm_eps
        self.batch_norm_momentum = batch_norm_momentum
        self.freeze_batch_norm = freeze_batch_norm
        if "id2label" not in kwargs and "num_labels" not in kwargs:
            kwargs["id2label"] = {0: "background", 1: "foreground"}
        if "id2label" in kwargs and "label2id" not in kwargs:
            kwargs["label2id"] = {label: int(index) for index, label in kwargs["id2label"].items()}
        super().__init__(**kwargs)
        validate_stage_tables(self.encoder_stages, self.decoder_stages, num_channels, out_channels)

    @property
    def num_side_outputs(self) -> int:
        return sum(bool(row[5]) for row in self.side_output_stages())

    def side_output_stages(self) -> list[list]:
        """Stage rows in the order their features feed the side outputs d1, d2, ...: the last
        decoder stage (full resolution) first, the bottleneck encoder stage last."""
        return [*reversed(self.decoder_stages), self.encoder_stages[-1]]


def preset_of(config: U2NetConfig) -> str | None:
    """The published preset (`"full"` or `"lite"`) whose stage tables `config` has, or None for a custom network."""
    for preset, tables in U2NET_PRESETS.items():
        if all(getattr(config, key) == _as_rows(rows) for key, rows in tables.items()):
            return preset
    return None


def _as_rows(table) -> list[list]:
    return [list(row) for row in table]


def _stage_name(part: str, index: int) -> str:
    return f"{part}_stages[{index}]"


def validate_stage_tables(encoder_stages, decoder_stages, num_channels, out_channels) -> None:
    """Raise `ValueError` naming the stage and the mismatch when the tables do not describe a
    network that can run."""
    if not isinstance(out_channels, int) or out_channels < 1:
        raise ValueError(f"out_channels must be a positive integer, got {out_channels!r}.")
    if len(encoder_stages) < 2:
        raise ValueError(f"U2-Net needs at least 2 encoder stages, got {len(encoder_stages)}.")
    if len(decoder_stages) != len(encoder_stages) - 1:
        raise ValueError(
            f"There must be one decoder stage fewer than encoder stages: got {len(encoder_stages)} encoder "
            f"and {len(decoder_stages)} decoder stages."
        )
    for part, table in (("encoder", encoder_stages), ("decoder", decoder_stages)):
        for index, row in enumerate(table):
            _validate_row(_stage_name(part, index), row)

    expected_in = num_channels
    for index, row in enumerate(encoder_stages):
        if row[1] != expected_in:
            source = "num_channels" if index == 0 else f"{_stage_name('encoder', index - 1)}.out_channels"
            raise ValueError(
                f"{_stage_name('encoder', index)}: in_channels is {row[1]} but {source} is {expected_in}."
            )
        expected_in = row[3]
        if index < len(encoder_stages) - 1 and row[5]:
            raise ValueError(
                f"{_stage_name('encoder', index)}: side_output is only supported on the last encoder stage "
                "(the bottleneck) and on decoder stages."
            )

    deeper_out = encoder_stages[-1][3]
    for index, row in enumerate(decoder_stages):
        skip_out = encoder_stages[-2 - index][3]
        if row[1] != deeper_out + skip_out:
            raise ValueError(
                f"{_stage_name('decoder', index)}: in_channels is {row[1]} but the concatenation of the deeper "
                f"stage ({deeper_out} channels) and the skip from {_stage_name('encoder', len(encoder_stages) - 2 - index)} "
                f"({skip_out} channels) has {deeper_out + skip_out}."
            )
        deeper_out = row[3]

    if not any(row[5] for row in [*encoder_stages, *decoder_stages]):
        raise ValueError("No stage has side_output=True: the fused prediction needs at least one side output.")


def _validate_row(name: str, row) -> None:
    if not isinstance(row, (list, tuple)) or len(row) != len(STAGE_FIELDS):
        raise ValueError(f"{name}: expected a row of {len(STAGE_FIELDS)} values {STAGE_FIELDS}, got {row!r}.")
    height, dilated, side_output = row[0], row[4], row[5]
    for field, value in zip(STAGE_FIELDS[:4], row[:4]):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: {field} must be a positive integer, got {value!r}.")
    if height < 2:
        raise ValueError(f"{name}: height must be at least 2, got {height}.")
    for field, value in (("dilated", dilated), ("side_output", side_output)):
        if not isinstance(value, bool):
            raise ValueError(f"{name}: {field} must be true or false, got {value!r}.")


__all__ = ["U2NET_PRESETS", "U2NetConfig", "preset_of"]
