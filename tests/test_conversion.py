"""The conversion family: its converters, safe reading, layout and variant detection, whole folders, model cards."""

from __future__ import annotations

import dataclasses
import importlib
import os
import pathlib
import types

import pytest
import torch
from foreign_layouts import random_checkpoint
from huggingface_hub import ModelCard
from rembg_onnx import u2netp_onnx_path
from safetensors.torch import load_file

from u2net_hf import conversion, hub, modelcard
from u2net_hf.conversion import (
    LAYOUT_DESCRIPTIONS,
    LAYOUTS,
    ConversionError,
    convert_checkpoint,
    detect_layout,
    read_checkpoint,
    read_torch_state_dict,
    sniff_file_format,
)
from u2net_hf.conversion.convert_reference_u2net_to_pytorch import expected_shapes as reference_shapes
from u2net_hf.conversion.convert_rembg_onnx_to_pytorch import convert as convert_rembg
from u2net_hf.conversion.convert_upstream_u2net_to_pytorch import expected_shapes as upstream_shapes
from u2net_hf.modelcard import render_model_card


@pytest.fixture
def reference_checkpoint(tmp_path) -> pathlib.Path:
    path = tmp_path / "reference.pth"
    torch.save(random_checkpoint(reference_shapes("lite")), path)
    return path


@pytest.fixture
def checkpoint_of_layout(tmp_path):
    """A file in each source layout: the official u2netp.onnx, random upstream and reference `.pth` files."""

    def make(layout: str) -> pathlib.Path:
        if layout == "onnx":
            return u2netp_onnx_path()
        shapes = {"upstream": upstream_shapes, "reference": reference_shapes}[layout]
        path = tmp_path / f"{layout}.pth"
        torch.save(random_checkpoint(shapes("lite"), seed=5), path)
        return path

    return make


def _entries(folder: pathlib.Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


class _RunsCodeWhenUnpickled:
    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_layouts_are_told_apart_by_tensor_names():
    assert detect_layout(dict.fromkeys(upstream_shapes("lite"))) == "upstream"
    assert detect_layout(dict.fromkeys(reference_shapes("lite"))) == "reference"
    with pytest.raises(ConversionError, match="already in the u2net-hf layout"):
        detect_layout({"u2net.encoder.0.input_conv.conv.weight": None})
    with pytest.raises(ConversionError, match=r"unknown checkpoint layout \(first tensors: backbone\.conv1\.weight"):
        detect_layout({"backbone.conv1.weight": None})


def test_file_formats_are_sniffed_from_the_first_bytes(tmp_path, reference_checkpoint):
    assert sniff_file_format(reference_checkpoint) == "torch"
    legacy = tmp_path / "legacy.bin"
    torch.save({"a": torch.zeros(1)}, legacy, _use_new_zipfile_serialization=False)
    assert sniff_file_format(legacy) == "torch"
    (tmp_path / "model").write_bytes(b"\x08\x07\x12\x07pytorch")  # ONNX: IR version field first
    assert sniff_file_format(tmp_path / "model") == "onnx"
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(ConversionError, match="the file is empty"):
        sniff_file_format(tmp_path / "empty.pth")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ConversionError, match="not a PyTorch checkpoint or an ONNX file"):
        sniff_file_format(tmp_path / "notes.txt")
    with pytest.raises(ConversionError, match="no such file"):
        sniff_file_format(tmp_path / "missing.pth")


def test_a_checkpoint_that_needs_code_execution_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    torch.save({"model": {"w": torch.zeros(1)}, "hook": _RunsCodeWhenUnpickled(marker)}, tmp_path / "evil.pth")
    with pytest.raises(ConversionError, match="only unpickle by executing code, which is refused"):
        read_torch_state_dict(tmp_path / "evil.pth")
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated", "truncated-legacy", "garbage"])
def test_truncated_or_corrupted_checkpoints_are_refused(tmp_path, reference_checkpoint, damage):
    if damage == "truncated-legacy":
        torch.save(torch.load(reference_checkpoint), reference_checkpoint, _use_new_zipfile_serialization=False)
    data = reference_checkpoint.read_bytes()
    damaged = tmp_path / "damaged.pth"
    damaged.write_bytes(data[: len(data) - 100] if damage.startswith("truncated") else os.urandom(2048))
    with pytest.raises(ConversionError, match="truncated or corrupted"):
        read_torch_state_dict(damaged)


def test_files_that_hold_no_state_dict_are_refused(tmp_path):
    torch.save([torch.zeros(1)], tmp_path / "list.pth")
    with pytest.raises(ConversionError, match="expected a state dict"):
        read_torch_state_dict(tmp_path / "list.pth")
    torch.save({"w": torch.zeros(1), "epoch": 3}, tmp_path / "mixed.pth")
    with pytest.raises(ConversionError, match="entries that are not tensors: epoch"):
        read_torch_state_dict(tmp_path / "mixed.pth")


def test_destination_that_is_a_file_or_a_non_empty_folder_is_refused(tmp_path, reference_checkpoint):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConversionError, match="exists and is not a folder"):
        convert_checkpoint(reference_checkpoint, tmp_path / "file")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_text("x")
    with pytest.raises(ConversionError, match="not empty; pass --overwrite"):
        convert_checkpoint(reference_checkpoint, tmp_path / "photos")
    with pytest.raises(ConversionError, match="does not hold a model"):
        convert_checkpoint(reference_checkpoint, tmp_path / "photos", overwrite=True)
    assert _entries(tmp_path / "photos") == {"cat.jpg"}


def test_nothing_is_written_when_conversion_fails(tmp_path):
    shapes = reference_shapes("lite")
    broken = random_checkpoint(shapes)
    del broken["out_conv.bias"]
    torch.save(broken, tmp_path / "broken.pth")
    before = _entries(tmp_path)
    with pytest.raises(ConversionError, match=r"missing tensors \(out_conv\.bias\)"):
        convert_checkpoint(tmp_path / "broken.pth", tmp_path / "out")
    assert _entries(tmp_path) == before


def test_overwrite_replaces_a_model_folder_as_a_whole(tmp_path, reference_checkpoint):
    dest = convert_checkpoint(reference_checkpoint, tmp_path / "model")
    (dest / "stale.bin").write_text("from an older conversion")
    convert_checkpoint(reference_checkpoint, dest, overwrite=True)
    assert _entries(dest) == {"config.json", "model.safetensors", "preprocessor_config.json", "README.md"}
    assert _entries(tmp_path) == {"reference.pth", "model"}  # no staging or backup folders left behind


def test_model_card_metadata_and_sections():
    text = render_model_card(
        preset="full",
        provenance="Fine-tuned on my data.",
        model_id="me/u2net-portraits",
        base_model="u2net-hf/u2net",
        datasets=["me/portraits"],
        metrics={"mae": 0.0412, "max_f": 0.9123},
        tags=["portrait"],
    )
    card = ModelCard(text)
    assert card.data.library_name == "u2net-hf"  # a card without remote code needs `import u2net_hf`
    assert card.data.pipeline_tag == "image-segmentation"
    assert card.data.license == "apache-2.0"
    assert card.data.base_model == "u2net-hf/u2net"
    assert card.data.datasets == ["me/portraits"]
    assert card.data.metrics == ["mae", "max_f"]
    assert {"u2net-hf", "portrait"} <= set(card.data.tags)
    assert "| mae | 0.0412 |" in card.text
    assert 'from_pretrained("me/u2net-portraits")' in card.text
    assert (
        'torch.hub.load("u2net-hf/u2net-hf", "u2net_full", pretrained=True, repo_id="me/u2net-portraits")' in card.text
    )
    assert "Fine-tuned on my data." in card.text and "Xuebin Qin" in card.text and "@article" in card.text
    assert "freeze_batch_norm" not in card.text  # only cards of weights with folded BatchNorm carry that advice
    assert "freeze_batch_norm" in render_model_card(preset="lite", provenance="x", frozen_batch_norm=True)


# ----------------------------------------------------------------------------------------------- the family
def test_every_layout_has_a_converter_module_with_the_same_entry_points():
    assert set(LAYOUTS) == set(LAYOUT_DESCRIPTIONS) == {"onnx", "upstream", "reference"}
    for layout, converter in LAYOUTS.items():
        assert isinstance(converter, types.ModuleType) and converter.__name__.startswith("u2net_hf.conversion.")
        assert (layout, LAYOUT_DESCRIPTIONS[layout]) == (converter.LAYOUT, converter.DESCRIPTION)
        assert callable(converter.convert)


@pytest.mark.parametrize("layout", ["onnx", "upstream", "reference"])
def test_each_converter_gives_what_convert_checkpoint_writes(tmp_path, checkpoint_of_layout, layout):
    src = checkpoint_of_layout(layout)
    converted = LAYOUTS[layout].convert(src)
    assert converted.layout == layout and converted.preset == "lite" and converted.source == src.name

    detected, explicit = read_checkpoint(src), read_checkpoint(src, layout=layout)
    for other in (detected, explicit):
        assert dataclasses.replace(other, state_dict={}) == dataclasses.replace(converted, state_dict={})
        assert other.state_dict.keys() == converted.state_dict.keys()
        assert all(torch.equal(other.state_dict[name], tensor) for name, tensor in converted.state_dict.items())

    folder = convert_checkpoint(src, tmp_path / "out")
    written = load_file(folder / "model.safetensors")
    assert all(torch.equal(written[name], tensor) for name, tensor in converted.state_dict.items())
    assert converted.provenance() in (folder / "README.md").read_text()


def test_an_unknown_layout_is_refused_before_the_file_is_read(tmp_path):
    with pytest.raises(ConversionError, match=r"Unknown source layout 'keras'; choose one of \['onnx', 'reference'"):
        read_checkpoint(tmp_path / "missing.h5", layout="keras")


def test_old_import_paths_still_work():
    for old, new in [
        ("u2net_hf.convert_rembg_onnx_to_pytorch", "u2net_hf.conversion.convert_rembg_onnx_to_pytorch"),
        ("u2net_hf.convert_upstream_u2net_to_pytorch", "u2net_hf.conversion.convert_upstream_u2net_to_pytorch"),
        ("u2net_hf.convert_reference_u2net_to_pytorch", "u2net_hf.conversion.convert_reference_u2net_to_pytorch"),
    ]:
        shim, module = importlib.import_module(old), importlib.import_module(new)
        for name in module.__all__:
            assert getattr(shim, name) is getattr(module, name), (old, name)
    assert importlib.import_module("u2net_hf.convert_rembg_onnx_to_pytorch").convert_rembg_onnx is convert_rembg
    assert conversion.save_model_folder is hub.save_model_folder
    assert conversion.check_destination is hub.check_destination
    for name in ("render_model_card", "write_model_card", "CITATION", "ATTRIBUTION", "FROZEN_BATCH_NORM_NOTE"):
        assert getattr(conversion, name) is getattr(modelcard, name), name
