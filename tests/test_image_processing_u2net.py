import inspect
import io

import numpy as np
import PIL.Image
import pytest
import torch

from u2net_hf import U2NetImageProcessor, U2NetSegmentationOutput

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def reference_pixel_values(image: PIL.Image.Image, size=(320, 320)) -> np.ndarray:
    """The upstream recipe written out with PIL and numpy: LANCZOS resize, divide by the image's maximum,
    ImageNet normalization."""
    array = np.asarray(image.convert("RGB").resize(size[::-1], PIL.Image.LANCZOS), dtype=np.float32)
    return ((array / array.max() - MEAN) / STD).transpose(2, 0, 1)


@pytest.fixture
def photo(real_photos):
    return PIL.Image.fromarray(real_photos["chelsea"])


def test_rgb_image_matches_the_written_out_recipe(photo):
    pixel_values = U2NetImageProcessor()(photo, return_tensors="pt")["pixel_values"]
    assert pixel_values.shape == (1, 3, 320, 320) and pixel_values.dtype == torch.float32
    np.testing.assert_allclose(pixel_values[0].numpy(), reference_pixel_values(photo), atol=1e-5)


def test_plain_rescale_multiplies_by_the_factor(photo):
    dark = PIL.Image.fromarray((np.asarray(photo) // 2).astype(np.uint8))
    pixel_values = U2NetImageProcessor(rescale_by_max=False)(dark)["pixel_values"][0].numpy()
    resized = np.asarray(dark.resize((320, 320), PIL.Image.LANCZOS), dtype=np.float32)
    expected = ((resized / 255 - MEAN) / STD).transpose(2, 0, 1)
    np.testing.assert_allclose(pixel_values, expected, atol=1e-5)


def test_rescale_by_max_makes_exposure_irrelevant(photo):
    dark = PIL.Image.fromarray((np.asarray(photo) // 2).astype(np.uint8))
    processor = U2NetImageProcessor()
    assert processor.rescale_by_max
    grey_level = 1 / 255 / 0.229  # in normalized units
    # Halving every pixel and dividing by the new maximum gives back the same picture, up to the lost bit.
    difference = (processor(dark)["pixel_values"] - processor(photo)["pixel_values"]).abs().mean()
    assert difference < 2 * grey_level
    plain = U2NetImageProcessor(rescale_by_max=False)
    assert (plain(dark)["pixel_values"] - plain(photo)["pixel_values"]).abs().mean() > 30 * grey_level


def test_size_and_return_tensors_np():
    processor = U2NetImageProcessor(size={"height": 64, "width": 96})
    pixel_values = processor(np.zeros((10, 20, 3), np.uint8), return_tensors="np")["pixel_values"]
    assert isinstance(pixel_values, np.ndarray) and pixel_values.shape == (1, 3, 64, 96)


def test_exif_orientation_is_applied(photo):
    buffer = io.BytesIO()
    exif = PIL.Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    photo.save(buffer, "JPEG", exif=exif, quality=95)
    tagged = PIL.Image.open(io.BytesIO(buffer.getvalue()))
    stored = PIL.Image.open(io.BytesIO(buffer.getvalue()))
    upright = np.asarray(stored.transpose(PIL.Image.Transpose.ROTATE_270))  # an array carries no EXIF tag
    assert upright.shape[:2] == (photo.width, photo.height)
    processor = U2NetImageProcessor()
    torch.testing.assert_close(processor(tagged)["pixel_values"], processor(upright)["pixel_values"])


def make_mode(image: PIL.Image.Image, mode: str) -> PIL.Image.Image:
    if mode == "I;16":
        return PIL.Image.fromarray(np.asarray(image.convert("L")).astype(np.uint16) * 257)
    if mode == "P+transparency":
        palette = image.convert("P")
        palette.info["transparency"] = 0
        return palette
    return image.convert(mode)


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "P+transparency", "CMYK", "I;16", "1", "I", "F"])
def test_every_mode_becomes_rgb(photo, mode):
    image = make_mode(photo, mode)
    pixel_values = U2NetImageProcessor()(image)["pixel_values"]
    assert pixel_values.shape == (1, 3, 320, 320)
    assert torch.isfinite(pixel_values).all()


def test_sixteen_bit_gray_matches_eight_bit_gray(photo):
    gray = photo.convert("L")
    processor = U2NetImageProcessor()
    eight = processor(gray)["pixel_values"]
    sixteen = processor(make_mode(photo, "I;16"))["pixel_values"]
    # Same picture at higher precision: the 8-bit resize rounds to whole grey levels, so they differ by
    # less than 2 grey levels (2 / 255 / 0.229 in normalized units).
    assert (eight - sixteen).abs().max() < 2 / 255 / 0.229


def test_arrays_and_tensors_agree_with_pil(photo):
    processor = U2NetImageProcessor()
    array = np.array(photo)
    from_pil = processor(photo)["pixel_values"]
    torch.testing.assert_close(processor(array)["pixel_values"], from_pil)
    torch.testing.assert_close(processor(torch.from_numpy(array).permute(2, 0, 1))["pixel_values"], from_pil)
    from_float = processor(array.astype(np.float32) / 255)["pixel_values"]
    assert (from_float - from_pil).abs().max() < 0.05  # float path resizes without 8-bit rounding
    gray = np.asarray(photo.convert("L"))
    torch.testing.assert_close(processor(gray)["pixel_values"], processor(photo.convert("L"))["pixel_values"])


def test_a_list_of_mixed_sizes_and_kinds_is_one_batch(photo):
    images = [photo, np.zeros((5, 7, 3), np.uint8), torch.rand(3, 40, 30), photo.convert("L").resize((13, 99))]
    pixel_values = U2NetImageProcessor()(images)["pixel_values"]
    assert pixel_values.shape == (4, 3, 320, 320)


@pytest.mark.parametrize(
    ("images", "error", "message"),
    [
        ([], ValueError, "list is empty"),
        ("photo.jpg", TypeError, "is a str"),
        ([np.zeros((4, 4, 3), np.uint8), {"a": 1}], TypeError, "Image 1 is a dict"),
        (np.full((4, 4, 3), np.nan, np.float32), ValueError, "NaN or infinite"),
        (np.zeros((4, 4, 5), np.uint8), ValueError, "1 to 4 channels"),
        (np.zeros((0, 4, 3), np.uint8), ValueError, "is empty"),
        (np.full((4, 4), 300, np.int32), ValueError, "outside 0-255"),
    ],
)
def test_bad_images_get_a_clear_error(images, error, message):
    with pytest.raises(error, match=message):
        U2NetImageProcessor()(images)


def test_inputs_are_not_modified(photo):
    array = np.asarray(photo).copy()
    before = array.copy()
    U2NetImageProcessor()(array)
    assert np.array_equal(array, before)


def test_save_and_reload(tmp_path):
    processor = U2NetImageProcessor(size={"height": 288, "width": 288}, rescale_by_max=False)
    processor.save_pretrained(tmp_path)
    reloaded = U2NetImageProcessor.from_pretrained(tmp_path)
    assert reloaded.size == {"height": 288, "width": 288} and reloaded.rescale_by_max is False
    assert reloaded.image_mean == processor.image_mean


def outputs_with_probabilities(probabilities: torch.Tensor) -> U2NetSegmentationOutput:
    return U2NetSegmentationOutput(logits=torch.logit(probabilities.double()).float())


def test_soft_masks_are_probabilities_at_the_target_size():
    probabilities = torch.rand(2, 1, 16, 16).clamp(0.01, 0.99)
    masks = U2NetImageProcessor().post_process_saliency(outputs_with_probabilities(probabilities))
    torch.testing.assert_close(masks[0], probabilities[0, 0], atol=1e-6, rtol=0)
    resized = U2NetImageProcessor().post_process_saliency(
        outputs_with_probabilities(probabilities), target_sizes=[(30, 40), (7, 9)]
    )
    assert [tuple(m.shape) for m in resized] == [(30, 40), (7, 9)]
    assert all(m.min() >= 0 and m.max() <= 1 for m in resized)


def test_min_max_normalization_spans_zero_to_one():
    probabilities = torch.linspace(0.2, 0.6, 64).reshape(1, 1, 8, 8)
    (mask,) = U2NetImageProcessor().post_process_saliency(
        outputs_with_probabilities(probabilities), min_max_normalize=True
    )
    assert mask.min() == 0 and mask.max() == pytest.approx(1, abs=1e-6)
    torch.testing.assert_close(mask, (probabilities[0, 0] - 0.2) / 0.4, atol=1e-5, rtol=0)


def test_semantic_maps_threshold_the_probability():
    probabilities = torch.tensor([[[[0.1, 0.4], [0.6, 0.9]]]])
    outputs = outputs_with_probabilities(probabilities)
    processor = U2NetImageProcessor()
    (labels,) = processor.post_process_semantic_segmentation(outputs)
    assert labels.dtype == torch.long and labels.tolist() == [[0, 0], [1, 1]]
    (labels,) = processor.post_process_semantic_segmentation(outputs, threshold=0.3)
    assert labels.tolist() == [[0, 1], [1, 1]]
    (labels,) = processor.post_process_semantic_segmentation(outputs, target_sizes=[(4, 6)])
    assert labels.shape == (4, 6)


def test_instance_segments_report_the_foreground_with_its_peak_probability():
    probabilities = torch.tensor([[[[0.1, 0.4], [0.6, 0.9]]], [[[0.1, 0.2], [0.3, 0.4]]]])
    results = U2NetImageProcessor().post_process_instance_segmentation(outputs_with_probabilities(probabilities))
    assert results[0]["segmentation"].tolist() == [[0, 0], [1, 1]]
    (segment,) = results[0]["segments_info"]
    # The score is the segment's peak foreground probability (0.9), not its mean (0.75).
    assert segment["label_id"] == 1 and segment["score"] == pytest.approx(0.9, abs=1e-5)
    assert results[1]["segments_info"] == [] and results[1]["segmentation"].sum() == 0
    strict = U2NetImageProcessor().post_process_instance_segmentation(
        outputs_with_probabilities(probabilities), threshold=0.95
    )
    assert strict[0]["segments_info"] == []


def test_the_segmentation_pipelines_own_default_threshold_never_drops_the_foreground():
    from transformers.pipelines.image_segmentation import ImageSegmentationPipeline

    pipeline_default = inspect.signature(ImageSegmentationPipeline.postprocess).parameters["threshold"].default
    assert pipeline_default == 0.9
    faint = outputs_with_probabilities(torch.tensor([[[[0.1, 0.2], [0.3, 0.6]]]]))  # peak 0.6: a faint subject
    processor = U2NetImageProcessor()
    (result,) = processor.post_process_instance_segmentation(faint, threshold=pipeline_default)
    assert result["segmentation"].tolist() == [[0, 0], [0, 1]]
    assert [s["score"] for s in result["segments_info"]] == [pytest.approx(0.6, abs=1e-5)]
    # The same value chosen by a caller filters.
    chosen = float("0.9")
    (result,) = processor.post_process_instance_segmentation(faint, threshold=chosen)
    assert result["segments_info"] == [] and result["segmentation"].sum() == 0


def test_target_sizes_must_match_the_batch():
    with pytest.raises(ValueError, match="2 target sizes for a batch of 1"):
        U2NetImageProcessor().post_process_saliency(
            outputs_with_probabilities(torch.rand(1, 1, 4, 4)), target_sizes=[(4, 4), (5, 5)]
        )
