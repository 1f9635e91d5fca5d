"""The bundled official U2-NetP weights (`u2net-lite`): rebuilt from the wheel bit for bit, identical to the
original network under onnxruntime, rembg's masks reproduced end to end, loadable offline everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from huggingface_hub import ModelCard
from PIL import Image
from rembg_onnx import REPO_ROOT, load_build_script, u2netp_onnx_path
from safetensors.torch import load_file

from u2net_hf.pretrained import PRETRAINED_VARIANTS, load_image_processor, load_model

BUNDLED = PRETRAINED_VARIANTS["u2net-lite"].bundled_path
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@pytest.fixture(scope="module")
def onnx_path() -> Path:
    return u2netp_onnx_path()


@pytest.fixture(scope="module")
def session(onnx_path) -> onnxruntime.InferenceSession:
    """onnxruntime on the official file with its fixed [1, 3, 320, 320] input made symbolic, so that other
    sizes and batch sizes run too (nothing else in the graph pins the size)."""
    model = onnx.load(str(onnx_path))
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        for dim, name in zip(dims, ("batch", "channels", "height", "width"), strict=True):
            if name != "channels":
                dim.dim_param = name
    del model.graph.value_info[:]
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def model():
    return load_model("u2net-lite")


def _run(model, pixel_values: np.ndarray):
    with torch.no_grad():
        return model(torch.from_numpy(pixel_values))


def _as_probabilities(outputs) -> np.ndarray:
    return torch.sigmoid(torch.cat([outputs.logits, outputs.side_logits], 1)).numpy()


def _onnx_probabilities(session, pixel_values: np.ndarray) -> np.ndarray:
    return np.concatenate(session.run(None, {"input.1": pixel_values}), axis=1)  # d0, d1..d6


def test_bundled_folder_holds_weights_licence_and_attribution():
    names = {path.name for path in BUNDLED.iterdir()}
    expected = {"config.json", "model.safetensors", "preprocessor_config.json", "README.md", "LICENSE", "NOTICE"}
    assert expected <= names
    assert (BUNDLED / "LICENSE").read_text() == (REPO_ROOT / "LICENSE").read_text()
    notice = (BUNDLED / "NOTICE").read_text()
    for fact in ("Qin et al.", "Pattern Recognition 106", "xuebinqin/U-2-Net", "Apache License", "rembg", "folded"):
        assert fact in notice


def test_model_card_has_metadata_attribution_accuracy_and_fine_tuning_advice():
    card = ModelCard.load(BUNDLED / "README.md")
    # The bundled folder carries no code: it loads where u2net-hf is imported, and its card says so (a push adds
    # the code, and then says library_name: transformers).
    assert card.data.library_name == "u2net-hf" and "import u2net_hf" in card.text
    assert card.data.pipeline_tag == "image-segmentation"
    assert card.data.license == "apache-2.0"
    assert "u2net-hf" in card.data.tags
    for text in ("Xuebin Qin", "xuebinqin/U-2-Net", "@article{qin2020u2net", "DUTS-TR", "freeze_batch_norm"):
        assert text in card.text
    for snippet in (
        "AutoModelForImageSegmentation",
        'pipeline("image-segmentation"',
        'pipeline("background-removal"',
        'torch.hub.load("',
    ):
        assert snippet in card.text


def test_rebuilding_from_the_wheel_reproduces_the_shipped_folder(onnx_path, tmp_path):
    script = load_build_script()
    rebuilt = script.build(onnx_path, tmp_path / "u2net-lite")

    shipped, fresh = load_file(BUNDLED / "model.safetensors"), load_file(rebuilt / "model.safetensors")
    assert shipped.keys() == fresh.keys()
    for name in shipped:
        assert torch.equal(shipped[name], fresh[name]), name

    def config(folder):
        data = json.loads((folder / "config.json").read_text())
        data.pop("transformers_version")
        return data

    assert config(rebuilt) == config(BUNDLED)
    for name in ("preprocessor_config.json", "README.md", "NOTICE", "LICENSE"):
        assert (rebuilt / name).read_text() == (BUNDLED / name).read_text(), name


def test_default_model_is_the_bundled_one(model):
    default = load_model()
    assert default is not model  # every call returns a new model, which the caller owns
    assert all(torch.equal(default.state_dict()[name], tensor) for name, tensor in model.state_dict().items())
    assert Path(default.name_or_path) == BUNDLED
    assert default.config.freeze_batch_norm
    assert load_image_processor().rescale_by_max


@pytest.mark.slow
def test_torch_hub_loads_the_bundled_weights_offline(model):
    hub_model = torch.hub.load(str(REPO_ROOT), "u2net_lite", source="local", pretrained=True, trust_repo=True)
    for name, tensor in model.state_dict().items():
        assert torch.equal(hub_model.state_dict()[name], tensor), name


@pytest.fixture(scope="module")
def photo_inputs(real_photos) -> tuple[list[Image.Image], np.ndarray]:
    """The three photos and their pixel values from the bundled processor (upstream's normalisation)."""
    images = [Image.fromarray(photo) for photo in real_photos.values()]
    return images, load_image_processor()(images, return_tensors="np")["pixel_values"]


@pytest.fixture(scope="module")
def photo_outputs(model, photo_inputs):
    return _run(model, photo_inputs[1])


@pytest.mark.slow
def test_every_output_matches_onnxruntime_on_real_photos(session, photo_inputs, photo_outputs):
    ours, theirs = _as_probabilities(photo_outputs), _onnx_probabilities(session, photo_inputs[1])
    assert ours.shape == theirs.shape == (3, 7, 320, 320)
    assert np.abs(ours - theirs).max() < 2e-4


@pytest.mark.parametrize("shape", [(1, 3, 256, 384), (2, 3, 161, 239)])
def test_every_output_matches_onnxruntime_at_other_sizes_and_batch_sizes(model, session, shape):
    pixel_values = np.random.default_rng(1).standard_normal(shape, dtype=np.float32)
    ours, theirs = _as_probabilities(_run(model, pixel_values)), _onnx_probabilities(session, pixel_values)
    assert ours.shape == theirs.shape == (shape[0], 7, *shape[2:])
    assert np.abs(ours - theirs).max() < 2e-4


def rembg_u2netp_mask(session, image: Image.Image) -> np.ndarray:
    """rembg's u2netp pipeline, step by step: LANCZOS resize to 320x320, divide by the image's maximum, ImageNet
    normalisation in float64, the fused map d0, per-image min-max, uint8 by truncation, LANCZOS resize back."""
    array = np.array(image.convert("RGB").resize((320, 320), Image.LANCZOS))
    array = array / np.max(array)
    array = (array - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    pixel_values = array.transpose(2, 0, 1)[None].astype(np.float32)
    prediction = session.run(None, {"input.1": pixel_values})[0][0, 0]
    prediction = (prediction - prediction.min()) / (prediction.max() - prediction.min())
    mask = Image.fromarray((prediction * 255).astype(np.uint8), mode="L").resize(image.size, Image.LANCZOS)
    return np.asarray(mask).astype(np.float64)


@pytest.mark.slow
def test_rembg_masks_are_reproduced_end_to_end(session, photo_inputs, photo_outputs):
    """Our processor + model + soft-mask post-processing in rembg's mode: the bundled processor (LANCZOS, divide
    by the image's maximum) and `post_process_saliency(min_max_normalize=True, resample=LANCZOS)`."""
    images, _ = photo_inputs
    sizes = [image.size[::-1] for image in images]
    processor = load_image_processor()
    masks = processor.post_process_saliency(photo_outputs, sizes, min_max_normalize=True, resample=Image.LANCZOS)
    for image, mask in zip(images, masks, strict=True):
        grey_levels = np.abs(mask.numpy() * 255 - rembg_u2netp_mask(session, image))
        assert (grey_levels <= 2).mean() >= 0.995


def test_frozen_batch_norm_keeps_the_pretrained_function_in_training_mode(model):
    """The statistics were folded away: in training mode, BatchNorm must keep using the placeholders."""
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        reference = model(x).logits
        try:
            model.train()
            assert torch.equal(model(x).logits, reference)
            model.config.freeze_batch_norm = False
            model.train()  # batch statistics replace the placeholders: the function changes completely
            assert (model(x).logits - reference).abs().max() > 1.0
        finally:
            model.config.freeze_batch_norm = True
            model.eval()
