"""Saliency data sets: layouts, pairing, mask modes, transforms, and bad data (missing, unpaired, mismatched,
corrupt files)."""

import logging
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch
from synthetic import synthetic_sample, write_synthetic_dataset

from u2net_hf import U2NetImageProcessor
from u2net_hf.data import (
    SaliencyDataset,
    SaliencyEvalTransform,
    SaliencyTrainTransform,
    find_image_mask_pairs,
    load_saliency_dataset,
    mask_to_array,
)


def test_duts_layout_pairs_images_with_masks(tmp_path):
    root = write_synthetic_dataset(tmp_path / "DUTS-TR", 3, size=32, layout="duts")
    pairs = find_image_mask_pairs(root)
    assert [(image.name, mask.name) for image, mask in pairs] == [(f"000{i}.jpg", f"000{i}.png") for i in range(3)]
    assert pairs[0][0].parent.name == "DUTS-TR-Image" and pairs[0][1].parent.name == "DUTS-TR-Mask"

    item = load_saliency_dataset(root)[1]
    image, mask = synthetic_sample(1, 32)
    assert item["name"] == "0001" and item["image"].shape == (32, 32, 3) and item["image"].dtype == np.uint8
    np.testing.assert_array_equal(item["mask"], mask / 255)
    # A JPEG of the right sample: much closer to it than to another sample.
    error = np.abs(item["image"].astype(int) - image).mean()
    assert error < 15 and error < np.abs(item["image"].astype(int) - synthetic_sample(0, 32)[0]).mean() / 2


def test_images_and_masks_folders_pair_by_stem_whatever_the_extension(tmp_path):
    root = write_synthetic_dataset(tmp_path / "data", 3, size=24)
    PIL.Image.open(root / "images" / "0001.png").save(root / "images" / "0001.bmp")
    (root / "images" / "0001.png").unlink()
    (root / "images" / ".DS_Store").write_bytes(b"\0")  # hidden and non-image files are ignored
    (root / "masks" / "notes.txt").write_text("not a mask")
    dataset = load_saliency_dataset(root)
    assert len(dataset) == 3
    np.testing.assert_array_equal(dataset[1]["mask"], synthetic_sample(1, 24)[1] / 255)
    np.testing.assert_array_equal(dataset[1]["image"], synthetic_sample(1, 24)[0])


def test_unpaired_files_are_all_listed(tmp_path):
    root = write_synthetic_dataset(tmp_path / "data", 8, size=16)
    for index in range(6):
        (root / "masks" / f"000{index}.png").unlink()
    PIL.Image.new("L", (16, 16)).save(root / "masks" / "orphan.png")
    with pytest.raises(ValueError) as error:
        find_image_mask_pairs(root)
    message = str(error.value)
    assert "6 images" in message and "0000.png, 0001.png, 0002.png, 0003.png, 0004.png and 1 more" in message
    assert "1 mask" in message and "orphan.png" in message and "\n" not in message


def test_missing_and_unrecognised_folders_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_image_mask_pairs(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="neither images/ \\+ masks/"):
        find_image_mask_pairs(tmp_path)
    write_synthetic_dataset(tmp_path / "DUTS" / "DUTS-TR", 1, size=16, layout="duts")
    with pytest.raises(FileNotFoundError, match="subfolders DUTS-TR look like data sets"):
        find_image_mask_pairs(tmp_path / "DUTS")
    (tmp_path / "empty" / "images").mkdir(parents=True)
    (tmp_path / "empty" / "masks").mkdir()
    with pytest.raises(ValueError, match="No images"):
        find_image_mask_pairs(tmp_path / "empty")


BINARY = np.array([[0, 1, 1], [0, 0, 1]], dtype=bool)


def _rgba(alpha: np.ndarray) -> PIL.Image.Image:
    rgba = np.zeros((*alpha.shape, 4), np.uint8)
    rgba[..., :3] = 200  # the colour of a cut-out does not matter, its alpha does
    rgba[..., 3] = alpha
    return PIL.Image.fromarray(rgba)


def _palette(indices: np.ndarray, colours: list[int]) -> PIL.Image.Image:
    image = PIL.Image.fromarray(indices.astype(np.uint8), mode="P")
    image.putpalette(colours + [0] * (768 - len(colours)))
    return image


MASKS_OF_EVERY_MODE = {
    "1": PIL.Image.fromarray(BINARY),
    "L": PIL.Image.fromarray(BINARY.astype(np.uint8) * 255),
    "L with labels 0/1": PIL.Image.fromarray(BINARY.astype(np.uint8)),
    "P black/white": _palette(BINARY * 1, [0, 0, 0, 255, 255, 255]),
    "P with labels 0/1 in colour": _palette(BINARY * 1, [0, 0, 0, 128, 0, 0]),
    "P with a colour palette": _palette(BINARY * 2, [0, 0, 0, 9, 9, 9, 255, 255, 255]),
    "RGB": PIL.Image.fromarray(np.repeat(BINARY[..., None], 3, axis=2).astype(np.uint8) * 255),
    "RGBA cut-out": _rgba(BINARY.astype(np.uint8) * 255),
    "RGBA opaque": PIL.Image.fromarray(
        np.dstack([np.repeat(BINARY[..., None], 3, axis=2) * 255, np.full(BINARY.shape, 255)]).astype(np.uint8)
    ),
    "LA cut-out": _rgba(BINARY.astype(np.uint8) * 255).convert("LA"),
    "I;16": PIL.Image.fromarray(BINARY.astype(np.uint16) * 65535),
    "F": PIL.Image.fromarray(BINARY.astype(np.float32)),
    "bool array": BINARY,
    "uint8 array 0/255": BINARY.astype(np.uint8) * 255,
    "uint8 array 0/1": BINARY.astype(np.uint8),
    "uint16 array": BINARY.astype(np.uint16) * 65535,
    "float array": BINARY.astype(np.float64),
    "float array 0-255": BINARY.astype(np.float32) * 255,
    "channels-first tensor": torch.from_numpy(BINARY.astype(np.float32))[None],
}


@pytest.mark.parametrize("mode", MASKS_OF_EVERY_MODE)
def test_masks_of_every_mode_are_scaled_to_the_same_unit_range(mode):
    array = mask_to_array(MASKS_OF_EVERY_MODE[mode])
    assert array.dtype == np.float32
    np.testing.assert_allclose(array, BINARY.astype(np.float32), atol=1e-6)


def test_soft_masks_stay_soft():
    soft = np.array([[0, 64, 128, 255]], dtype=np.uint8)
    np.testing.assert_allclose(mask_to_array(PIL.Image.fromarray(soft)), soft / 255, atol=1e-7)
    np.testing.assert_allclose(mask_to_array(soft.astype(np.uint16) * 257), soft / 255, atol=1e-6)


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (np.full((2, 2), 300.0), "Float mask values"),
        (np.array([[np.nan, 0]]), "NaN"),
        (np.array([[-1, 0]]), "Integer mask values"),
        (np.zeros((7, 7, 5)), "non-empty"),
        (np.zeros((0, 3)), "non-empty"),
    ],
)
def test_invalid_masks_are_refused(mask, message):
    with pytest.raises(ValueError, match=message):
        mask_to_array(mask)


def test_corrupt_files_are_skipped_counted_and_named(tmp_path, caplog):
    root = write_synthetic_dataset(tmp_path / "data", 5, size=24)
    (root / "images" / "0001.png").write_bytes(b"not an image")
    truncated = (root / "masks" / "0003.png").read_bytes()
    (root / "masks" / "0003.png").write_bytes(truncated[: len(truncated) // 2])
    dataset = load_saliency_dataset(root, transform=SaliencyTrainTransform(size=24, crop_size=16))

    with caplog.at_level(logging.WARNING, logger="u2net_hf.data"):
        batches = list(torch.utils.data.DataLoader(dataset, batch_size=2))

    assert sum(len(batch["pixel_values"]) for batch in batches) == 5  # batches stay full
    assert sorted(dataset.skipped) == [1, 3]
    assert "0001.png" in caplog.text and "0003.png" in caplog.text and "2 skipped so far" in caplog.text
    # Later passes do not try (and warn about) the same files again.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="u2net_hf.data"):
        dataset[1]
    assert caplog.text == ""

    evaluation = load_saliency_dataset(root, transform=SaliencyEvalTransform(size=24), replace_unreadable=False)
    assert evaluation[1] is None and evaluation[2] is not None


def test_a_data_set_with_no_readable_file_fails(tmp_path):
    root = write_synthetic_dataset(tmp_path / "data", 2, size=16)
    for path in (root / "images").iterdir():
        path.write_bytes(b"")
    with pytest.raises(RuntimeError, match="None of the 2 samples"):
        load_saliency_dataset(root)[0]


def test_a_mask_of_another_size_is_resized_with_a_warning(tmp_path, caplog):
    root = write_synthetic_dataset(tmp_path / "data", 1, size=(40, 60))
    mask = PIL.Image.open(root / "masks" / "0000.png")
    mask.resize((30, 20), PIL.Image.NEAREST).save(root / "masks" / "0000.png")
    with caplog.at_level(logging.WARNING, logger="u2net_hf.data"):
        transform = SaliencyTrainTransform(size=32, crop_size=32, horizontal_flip=False)
        train_item = load_saliency_dataset(root, transform=transform)[0]
        eval_item = load_saliency_dataset(root, transform=SaliencyEvalTransform(size=32))[0]
    assert "is 30x20 but its image is 60x40" in caplog.text
    assert train_item["labels"].shape == (1, 32, 32)
    assert eval_item["target"].shape == (20, 30)  # metrics are computed at the ground truth's own size
    full_size = load_saliency_dataset(write_synthetic_dataset(tmp_path / "full", 1, size=(40, 60)))[0]["mask"]
    resized_back = np.asarray(PIL.Image.fromarray(full_size).resize((32, 32), PIL.Image.BILINEAR))
    assert np.abs(train_item["labels"][0].numpy() - resized_back).mean() < 0.08


def test_train_transform_crops_and_flips_image_and_mask_together():
    # An image that is its own mask (white object on black) must stay aligned with its label after augmentation.
    _, mask = synthetic_sample(3, 64)
    image = np.repeat(mask[..., None], 3, axis=2)
    processor = U2NetImageProcessor(resample=PIL.Image.BILINEAR)
    transform = SaliencyTrainTransform(processor, size=48, crop_size=40)
    mean, std = torch.tensor(processor.image_mean)[:, None, None], torch.tensor(processor.image_std)[:, None, None]
    crops = set()
    for seed in range(8):
        item = transform(image, mask / 255, torch.Generator().manual_seed(seed))
        assert item["pixel_values"].shape == (3, 40, 40) and item["labels"].shape == (1, 40, 40)
        assert item["labels"].min() >= 0 and item["labels"].max() <= 1
        recovered = (item["pixel_values"] * std + mean).mean(0)
        assert (recovered - item["labels"][0]).abs().mean() < 0.01
        crops.add(item["labels"].sum().item())
    assert len(crops) > 4  # the crop and flip really vary

    whole = SaliencyTrainTransform(processor, size=48, crop_size=48, horizontal_flip=False)(image, mask / 255)
    expected = processor(image, size={"height": 48, "width": 48}, return_tensors="pt")["pixel_values"][0]
    torch.testing.assert_close(whole["pixel_values"], expected, rtol=0, atol=0)  # the processor's own preprocessing


def test_seeded_augmentation_depends_on_seed_epoch_and_index_only(tmp_path):
    root = write_synthetic_dataset(tmp_path / "data", 2, size=40)
    transform = SaliencyTrainTransform(size=40, crop_size=24)
    first, second = (load_saliency_dataset(root, transform=transform, seed=7) for _ in range(2))
    torch.manual_seed(0)
    a = first[1]
    torch.manual_seed(1)  # the global generator plays no part
    torch.testing.assert_close(a, second[1], rtol=0, atol=0)
    second.set_epoch(1)
    other_epochs = [second[1]["labels"]]
    second.set_epoch(2)
    other_epochs.append(second[1]["labels"])
    assert any(not torch.equal(a["labels"], labels) for labels in other_epochs)


def test_eval_transform_keeps_the_mask_at_its_native_size():
    image, mask = synthetic_sample(0, (30, 50))
    processor = U2NetImageProcessor(size={"height": 64, "width": 64})
    item = SaliencyEvalTransform(processor)(image, mask / 255)
    assert item["pixel_values"].shape == (3, 64, 64) and item["labels"].shape == (1, 64, 64)
    np.testing.assert_array_equal(item["target"].numpy(), mask / 255)
    torch.testing.assert_close(item["pixel_values"], processor(image, return_tensors="pt")["pixel_values"][0])


def test_hugging_face_datasets_with_any_column_names(tmp_path):
    datasets = pytest.importorskip("datasets")
    samples = [synthetic_sample(index, 24) for index in range(3)]
    features = datasets.Features({"img": datasets.Image(), "gt": datasets.Image(), "id": datasets.Value("int32")})
    table = datasets.Dataset.from_dict(
        {
            "img": [PIL.Image.fromarray(image) for image, _ in samples],
            "gt": [PIL.Image.fromarray(mask) for _, mask in samples],
            "id": [0, 1, 2],
        },
        features=features,
    )
    dataset = load_saliency_dataset(table)
    assert (dataset.samples.image_column, dataset.samples.mask_column) == ("img", "gt")
    np.testing.assert_array_equal(dataset[2]["mask"], samples[2][1] / 255)
    np.testing.assert_array_equal(dataset[2]["image"], samples[2][0])

    renamed = table.rename_columns({"img": "photo", "gt": "matte_png"})
    with pytest.raises(ValueError, match="image_column= and mask_column="):
        load_saliency_dataset(renamed.remove_columns("matte_png"))
    explicit = load_saliency_dataset(renamed, image_column="photo", mask_column="matte_png")
    np.testing.assert_array_equal(explicit[0]["mask"], samples[0][1] / 255)
    with pytest.raises(ValueError, match="no column 'mask'"):
        load_saliency_dataset(renamed, mask_column="mask")

    splits = datasets.DatasetDict({"train": table, "test": table.select([0])})
    assert len(load_saliency_dataset(splits)) == 3 and len(load_saliency_dataset(splits, split="test")) == 1
    with pytest.raises(ValueError, match=r"no split 'validation'; its splits are \['train', 'test'\]"):
        load_saliency_dataset(splits, split="validation")

    splits.save_to_disk(tmp_path / "saved")
    assert len(load_saliency_dataset(tmp_path / "saved", split="test")) == 1


def test_a_corrupt_row_of_a_hugging_face_dataset_is_skipped():
    datasets = pytest.importorskip("datasets")
    image, mask = synthetic_sample(0, 16)
    png = PIL.Image.fromarray(image)
    import io

    buffer = io.BytesIO()
    png.save(buffer, format="PNG")
    good, bad = {"bytes": buffer.getvalue(), "path": None}, {"bytes": b"garbage", "path": None}
    table = datasets.Dataset.from_dict(
        {"image": [good, bad, good], "mask": [mask, mask, mask]},
        features=datasets.Features({"image": datasets.Image(), "mask": datasets.Array2D((16, 16), "uint8")}),
    )
    dataset = load_saliency_dataset(table)
    assert [item["image"].shape for item in dataset] == [(16, 16, 3)] * 3
    assert list(dataset.skipped) == [1] and "row 1" in dataset.skipped[1]
    assert isinstance(dataset, SaliencyDataset)


def test_hub_data_set_ids_go_to_datasets_and_local_folders_win(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    image, mask = synthetic_sample(0, 16)
    table = datasets.Dataset.from_dict(
        {"image": [PIL.Image.fromarray(image)], "mask": [PIL.Image.fromarray(mask)]},
        features=datasets.Features({"image": datasets.Image(), "mask": datasets.Image()}),
    )
    calls = []
    monkeypatch.setattr(datasets, "load_dataset", lambda name, split=None: calls.append((name, split)) or table)
    dataset = load_saliency_dataset("my-org/portraits", split="test")
    assert calls == [("my-org/portraits", "test")] and dataset.name == "my-org/portraits" and len(dataset) == 1

    monkeypatch.chdir(tmp_path)
    write_synthetic_dataset(Path("my-org") / "portraits", 2, size=16)  # a local folder of the same name
    assert len(load_saliency_dataset("my-org/portraits")) == 2 and len(calls) == 1
