"""Tests of `u2net_hf.hf_datasets`: a cut-out or mask column added to a real `datasets.Dataset`."""

from __future__ import annotations

import numpy as np
import PIL.Image
import pytest
from test_background import random_rgb, save_tiny_model

from u2net_hf import new_session
from u2net_hf.hf_datasets import remove_backgrounds_dataset

datasets = pytest.importorskip("datasets")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> str:
    return str(save_tiny_model(tmp_path_factory.mktemp("tiny-u2net")))


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    return [random_rgb(18 + 2 * index, 40 - index, seed=index) for index in range(20)]


@pytest.fixture(scope="module")
def dataset(photos):
    return datasets.Dataset.from_dict({"image": [PIL.Image.fromarray(photo) for photo in photos]}).cast_column(
        "image", datasets.Image()
    )


def test_masks_equal_those_of_session_predict(model_dir, dataset, photos):
    with_masks = remove_backgrounds_dataset(dataset, model=model_dir, mask_only=True, batch_size=8)
    assert with_masks.column_names == ["image", "mask"] and len(with_masks) == 20
    expected = new_session(model_dir).predict(photos, batch_size=8)
    for row, mask in zip(with_masks, expected, strict=True):
        np.testing.assert_array_equal(np.asarray(row["mask"], dtype=np.float32), mask)


def test_cutouts_are_rgba_images_equal_to_session_remove(model_dir, dataset, photos):
    with_cutouts = remove_backgrounds_dataset(dataset, model=model_dir, batch_size=1, bg_color=(0, 0, 255, 128))
    assert isinstance(with_cutouts.features["cutout"], datasets.Image)
    session = new_session(model_dir)
    for row, photo in zip(with_cutouts.select(range(4)), photos, strict=False):
        expected = session.remove(PIL.Image.fromarray(photo), bg_color=(0, 0, 255, 128))
        assert row["cutout"].mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(row["cutout"]), np.asarray(expected))


def test_a_missing_column_or_cut_out_options_on_masks_are_refused(model_dir, dataset):
    with pytest.raises(ValueError, match="no column 'photo'"):
        remove_backgrounds_dataset(dataset, model=model_dir, image_column="photo")
    with pytest.raises(ValueError, match="apply to cut-outs"):
        remove_backgrounds_dataset(dataset, model=model_dir, mask_only=True, threshold=0.5)
