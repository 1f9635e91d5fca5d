"""Tests of `u2net_hf.images`: decoding any input into a PIL image with one-line errors, and encoding and
writing results atomically."""

from __future__ import annotations

import os
import zlib

import numpy as np
import PIL.Image
import pytest
from test_background import HOSTILE_FILES, decompression_bomb_png, encode, exif_rotated_jpeg, random_rgb

from u2net_hf.files import TEMPORARY_NAME
from u2net_hf.images import (
    encode_image,
    image_extensions,
    image_name,
    load_image,
    output_format,
    png_save_options,
    rgb_and_alpha,
    save_image,
)


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_hostile_files_raise_one_line_naming_the_file(tmp_path, case):
    name, content, words = HOSTILE_FILES[case]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError) as error:
        load_image(path)
    message = str(error.value)
    assert message.startswith(str(path)) and words in message and "\n" not in message
    with pytest.raises(ValueError, match=words):  # the same from bytes, named generically
        load_image(content)


def test_missing_files_and_folders_are_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match=r"missing\.jpg: no such file"):
        load_image(tmp_path / "missing.jpg")
    with pytest.raises(ValueError, match=r"is a folder, not an image file"):
        load_image(tmp_path)


def test_objects_that_are_not_images_are_a_type_error():
    with pytest.raises(TypeError, match="expected a file path, bytes, a PIL image or a numpy array"):
        load_image(42)
    with pytest.raises(ValueError, match="the array has shape"):
        load_image(np.zeros((4, 4, 7), dtype=np.uint8))


def test_pixels_over_the_pillow_limit_are_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(decompression_bomb_png())
    assert path.stat().st_size < 100
    with pytest.raises(ValueError, match="decompression bomb"):
        load_image(path)


def test_exif_orientation_is_applied_and_the_input_left_alone(tmp_path):
    path = tmp_path / "rotated.jpg"
    path.write_bytes(exif_rotated_jpeg(width=40, height=24, orientation=6))
    before = path.read_bytes()
    image = load_image(path)
    assert image.size == (24, 40) and path.read_bytes() == before


def test_rgb_and_alpha_split_an_image_as_the_processor_sees_it():
    rgba = np.dstack([random_rgb(6, 5), np.arange(30, dtype=np.uint8).reshape(6, 5)])
    rgb, alpha = rgb_and_alpha(PIL.Image.fromarray(rgba, mode="RGBA"))
    np.testing.assert_array_equal(rgb, rgba[..., :3])
    np.testing.assert_array_equal(alpha, rgba[..., 3])
    assert rgb_and_alpha(PIL.Image.fromarray(rgba[..., :3]))[1] is None


def test_image_names_are_paths_or_positions(tmp_path):
    assert image_name(tmp_path / "a.png", 3) == str(tmp_path / "a.png")
    assert image_name(b"...", 3) == "image 3"


def test_folder_walks_look_for_the_photo_formats_pillow_opens():
    extensions = image_extensions()
    assert {".jpg", ".jpeg", ".png", ".webp", ".tif"} <= extensions
    assert not {".txt", ".json", ".pdf"} & extensions


def test_output_formats_come_from_the_file_name():
    assert output_format("cutout.png") == "PNG"
    assert output_format("CUTOUT.WEBP") == "WEBP"
    with pytest.raises(ValueError, match=r"unknown output format '\.docx'; name the output \.png"):
        output_format("cutout.docx")


def test_pngs_are_encoded_run_length_by_default():
    image = PIL.Image.fromarray(random_rgb(40, 50))
    assert encode_image(image) == encode(image, compress_type=zlib.Z_RLE)
    assert encode_image(image, "PNG", **png_save_options(9)) == encode(image, compress_level=9)
    assert encode_image(image, "WEBP")[:4] == b"RIFF"


def test_save_image_writes_atomically_in_the_format_of_the_name(tmp_path):
    image = PIL.Image.fromarray(random_rgb(20, 30))
    path = save_image(image, tmp_path / "deep" / "er" / "out.png")
    assert path.read_bytes() == encode(image, compress_type=zlib.Z_RLE)
    save_image(b"already encoded", tmp_path / "raw.png")
    assert (tmp_path / "raw.png").read_bytes() == b"already encoded"
    with PIL.Image.open(save_image(image, tmp_path / "out.webp")) as written:
        assert written.format == "WEBP"


def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    path.write_bytes(b"previous")

    def failing_save(self, fp, *args, **kwargs):
        fp.write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(PIL.Image.Image, "save", failing_save)
    with pytest.raises(OSError, match=r"out\.png: cannot write it \(No space left on device\)"):
        save_image(PIL.Image.new("RGB", (4, 4)), path)
    assert path.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["out.png"]
    assert not any(TEMPORARY_NAME.match(name) for name in os.listdir(tmp_path))
