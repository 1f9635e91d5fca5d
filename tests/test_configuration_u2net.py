import copy

import pytest

from u2net_hf import U2NET_PRESETS, U2NetConfig


def test_default_is_full_u2net_with_binary_labels():
    config = U2NetConfig()
    assert config.model_type == "u2net"
    assert config.encoder_stages == U2NET_PRESETS["full"]["encoder_stages"]
    assert config.decoder_stages == U2NET_PRESETS["full"]["decoder_stages"]
    assert config.id2label == {0: "background", 1: "foreground"}
    assert config.label2id == {"background": 0, "foreground": 1}
    assert config.num_side_outputs == 6


def test_lite_preset_and_explicit_tables_win_over_preset():
    lite = U2NetConfig(preset="lite")
    assert lite.encoder_stages == U2NET_PRESETS["lite"]["encoder_stages"]
    explicit = U2NetConfig(preset="lite", **U2NET_PRESETS["full"])
    assert explicit.encoder_stages == U2NET_PRESETS["full"]["encoder_stages"]


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="Unknown U2-Net preset 'huge'"):
        U2NetConfig(preset="huge")


def test_save_and_reload_keeps_the_tables(tmp_path, tiny_config):
    tiny_config.save_pretrained(tmp_path)
    reloaded = U2NetConfig.from_pretrained(tmp_path)
    assert reloaded.encoder_stages == tiny_config.encoder_stages
    assert reloaded.decoder_stages == tiny_config.decoder_stages
    assert reloaded.id2label == tiny_config.id2label
    assert all(isinstance(value, bool) for row in reloaded.encoder_stages for value in row[4:])


def _tables(preset="lite"):
    return copy.deepcopy(U2NET_PRESETS[preset])


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda t: t["encoder_stages"][2].__setitem__(1, 63),
            r"encoder_stages\[2\]: in_channels is 63 but encoder_stages\[1\]\.out_channels is 64",
        ),
        (
            lambda t: t["encoder_stages"][0].__setitem__(1, 4),
            r"encoder_stages\[0\]: in_channels is 4 but num_channels is 3",
        ),
        (
            lambda t: t["decoder_stages"][1].__setitem__(1, 64),
            r"decoder_stages\[1\]: in_channels is 64 but the concatenation",
        ),
        (lambda t: t["decoder_stages"][3].pop(), r"decoder_stages\[3\]: expected a row of 6 values"),
        (lambda t: t["encoder_stages"][1].append(True), r"encoder_stages\[1\]: expected a row of 6 values"),
        (lambda t: t["decoder_stages"].pop(), "one decoder stage fewer than encoder stages"),
        (lambda t: t["encoder_stages"][0].__setitem__(0, 1), r"encoder_stages\[0\]: height must be at least 2"),
        (
            lambda t: t["encoder_stages"][0].__setitem__(2, 0),
            r"encoder_stages\[0\]: mid_channels must be a positive integer",
        ),
        (lambda t: t["encoder_stages"][0].__setitem__(4, "no"), r"encoder_stages\[0\]: dilated must be true or false"),
        (lambda t: t["encoder_stages"][2].__setitem__(5, True), r"encoder_stages\[2\]: side_output is only supported"),
        (
            lambda t: [row.__setitem__(5, False) for row in t["encoder_stages"] + t["decoder_stages"]],
            "No stage has side_output=True",
        ),
    ],
)
def test_inconsistent_tables_name_the_stage_and_the_mismatch(mutate, message):
    tables = _tables()
    mutate(tables)
    with pytest.raises(ValueError, match=message):
        U2NetConfig(**tables)


def test_config_fields_avoid_from_pretrained_keywords():
    # `from_pretrained(path, variant=...)` etc. would be read as loading options, not config fields.
    reserved = {"variant", "dtype", "torch_dtype", "revision", "cache_dir", "token", "subfolder", "device_map"}
    assert reserved.isdisjoint(U2NetConfig().to_diff_dict())
