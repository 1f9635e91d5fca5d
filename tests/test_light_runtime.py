"""The light runtime: on onnxruntime, `import u2net_hf`, `new_session().remove()` and `u2net-hf remove` import
neither torch nor transformers; the bundled model's prebuilt ONNX files agree with its safetensors weights; and
U2-Net still registers with transformers whenever transformers is imported, in whatever order."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch

from u2net_hf import new_session, resolve_model_path
from u2net_hf.devices import default_backend, parse_device
from u2net_hf.onnx.runtime import PREBUILT_FILES, WEIGHTS_SHA256_KEY, file_sha256, prebuilt_onnx_file

REPO = Path(__file__).resolve().parents[1]
BUNDLED = Path(resolve_model_path("u2net-lite"))


def run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=300)


HEAVY = (
    "print(sorted(name for name in ('torch', 'transformers', 'onnx', 'pymatting', 'numba') if name in sys.modules))"
)


def test_removing_a_background_on_the_default_backend_imports_neither_torch_nor_transformers(tmp_path):
    photo = tmp_path / "photo.png"
    PIL.Image.new("RGB", (80, 60), "red").save(photo)
    code = (
        "import sys\nfrom u2net_hf import new_session, remove_background\n"
        "session = new_session()\nassert session.backend == 'onnxruntime', session\n"
        "cutout = session.remove(sys.argv[1])\nassert cutout.mode == 'RGBA' and cutout.size == (80, 60)\n"
        "assert remove_background(sys.argv[1], output_format='png')[:4] == b'\\x89PNG'\n" + HEAVY
    )
    result = run_python(code, str(photo))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "[]"


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["remove", "--help"],
        ["convert", "--help"],
        ["export-onnx", "--help"],
        ["remove", "photo.jpg", "--batch-size", "zero"],  # an argument error
        ["remove", "/no/such/photo.jpg"],  # a missing input
    ],
    ids=["help", "remove-help", "convert-help", "export-onnx-help", "argument-error", "missing-input"],
)
def test_help_and_argument_errors_import_neither_torch_nor_transformers(argv):
    code = (
        f"import sys\nfrom u2net_hf.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n" + HEAVY
    )
    result = run_python(code)
    assert result.stdout.split("\n")[-2] == "[]", result.stderr


def test_the_cli_removes_a_background_without_torch(tmp_path):
    photo = tmp_path / "photo.jpg"
    PIL.Image.new("RGB", (90, 70), "blue").save(photo)
    code = "import sys\nfrom u2net_hf.cli import main\nassert main(['remove', sys.argv[1], '-q']) == 0\n" + HEAVY
    result = run_python(code, str(photo))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "[]"
    assert PIL.Image.open(tmp_path / "photo_nobg.png").mode == "RGBA"


@pytest.mark.parametrize(
    "first",
    [
        "import u2net_hf",
        "import transformers, u2net_hf",
        "import u2net_hf.modeling_u2net",
        "import u2net_hf.pipelines",
        "from u2net_hf import U2NetConfig",
        "from u2net_hf import new_session; new_session().remove(__import__('numpy').zeros((40, 40, 3), 'uint8'))",
    ],
)
def test_u2net_registers_with_transformers_whatever_is_imported_first(first):
    code = (
        f"{first}\nfrom transformers import AutoConfig, AutoImageProcessor, AutoModel\n"
        "from transformers.pipelines import PIPELINE_REGISTRY\n"
        f"model = AutoModel.from_pretrained({str(BUNDLED)!r})\n"
        f"processor = AutoImageProcessor.from_pretrained({str(BUNDLED)!r})\n"
        "print(type(model).__name__, type(processor).__name__, "
        "'background-removal' in PIPELINE_REGISTRY.get_supported_tasks())"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "U2NetForImageSegmentation U2NetImageProcessor True"


def test_the_default_backend_is_onnxruntime_on_cpus_and_torch_on_gpus():
    assert default_backend("cpu") == "onnxruntime"
    assert default_backend("cuda") == default_backend("cuda:1") == default_backend("mps") == "torch"
    assert default_backend() == ("torch" if torch.cuda.is_available() else "onnxruntime")
    assert parse_device("cuda:1").index == 1 and parse_device(torch.device("cpu")).type == "cpu"
    with pytest.raises(ValueError, match="Unknown device 'gpu'"):
        parse_device("gpu")


def test_the_bundled_model_opens_its_prebuilt_file_stamped_with_its_weights():
    session = new_session("u2net-lite", device="cpu")
    assert Path(session.model.name_or_path) == BUNDLED / PREBUILT_FILES["float32"]
    assert session.model.metadata[WEIGHTS_SHA256_KEY] == file_sha256(BUNDLED / "model.safetensors")
    int8 = new_session("u2net-lite", int8=True)
    assert Path(int8.model.name_or_path).parent == BUNDLED / "onnx"
    assert int8.model.metadata["precision"] == "int8"


def test_a_folder_whose_weights_changed_never_runs_its_stale_onnx_files(tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(BUNDLED, folder)
    assert prebuilt_onnx_file(folder) is not None
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[-1] ^= 1  # a changed weight: saved again after fine-tuning, say
    (folder / "model.safetensors").write_bytes(bytes(data))
    assert prebuilt_onnx_file(folder) is None


def test_prebuilt_float32_probabilities_equal_the_safetensors_weights_on_torch(real_photos):
    photos = list(real_photos.values())
    onnx_masks = new_session("u2net-lite", device="cpu").predict(photos)
    torch_masks = new_session("u2net-lite", backend="torch", device="cpu").predict(photos)
    for onnx_mask, torch_mask in zip(onnx_masks, torch_masks):
        assert np.abs(onnx_mask - torch_mask).max() < 2e-4


def test_prebuilt_int8_masks_stay_close_to_float32_on_real_photos(real_photos):
    from u2net_hf.devices import cpu_has_int8_dot_product

    # int8 weights where the CPU multiplies them exactly (VNNI, ARM64), uint8 weights elsewhere: int8 weights
    # saturate on plain AVX2 (mask IoU 0.95-0.97 here), so the file of the other kind is never run on this CPU.
    int8 = prebuilt_onnx_file(BUNDLED, int8=True)
    assert int8.metadata["int8_weights"] == ("int8" if cpu_has_int8_dot_product() else "uint8")
    assert int8.metadata[WEIGHTS_SHA256_KEY] == file_sha256(BUNDLED / "model.safetensors")
    float32 = new_session("u2net-lite", device="cpu")
    for photo in real_photos.values():
        pixel_values = float32.transforms.preprocess(photo)[None]
        reference = float32.forward(pixel_values)[0, 0] > 0
        ours = int8.run(pixel_values)[0][0, 0] > 0
        iou = (reference & ours).sum() / (reference | ours).sum()
        assert iou >= 0.98, iou


def test_the_transforms_are_the_processors_own_arithmetic(real_photos):
    from u2net_hf import U2NetImageProcessor
    from u2net_hf.image_transforms_u2net import U2NetTransforms

    config = json.loads((BUNDLED / "preprocessor_config.json").read_text())
    processor = U2NetImageProcessor.from_dict(config)
    transforms = U2NetTransforms.from_dict(config)
    assert U2NetTransforms.of(processor) == transforms
    photo = real_photos["chelsea"]
    # An independent computation: Pillow's resize, then the published normalization written out by hand.
    resized = np.asarray(PIL.Image.fromarray(photo).resize((320, 320), PIL.Image.Resampling.LANCZOS), np.float32)
    expected = ((resized / resized.max() - (0.485, 0.456, 0.406)) / (0.229, 0.224, 0.225)).transpose(2, 0, 1)
    np.testing.assert_allclose(transforms.preprocess(photo), expected, atol=1e-5)
    np.testing.assert_array_equal(
        processor(photo, return_tensors="np")["pixel_values"][0], transforms.preprocess(photo)
    )
    logits = np.random.default_rng(0).normal(size=(1, 1, 20, 30)).astype(np.float32) * 8
    (mask,) = transforms.masks(logits, [(40, 60)])
    torch_mask = torch.nn.functional.interpolate(torch.sigmoid(torch.from_numpy(logits)), (40, 60), mode="bilinear")
    assert mask.shape == (40, 60) and np.abs(mask - torch_mask[0, 0].numpy()).mean() < 0.02
    np.testing.assert_allclose(transforms.masks(logits)[0], torch.sigmoid(torch.from_numpy(logits))[0, 0], atol=1e-6)
