"""Auto classes, the stock image-segmentation pipeline, and loading saved folders as remote code."""

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch
from transformers import (
    AutoConfig,
    AutoImageProcessor,
    AutoModel,
    AutoModelForImageSegmentation,
    AutoModelForSemanticSegmentation,
    pipeline,
)

from u2net_hf import (
    U2NetConfig,
    U2NetForImageSegmentation,
    U2NetImageProcessor,
    U2NetModel,
    add_remote_code,
    registration,
)
from u2net_hf.files import write_text_atomically


def test_auto_classes_resolve_to_u2net(saved_folder):
    assert type(AutoConfig.from_pretrained(saved_folder)) is U2NetConfig
    assert type(AutoConfig.for_model("u2net", preset="lite")) is U2NetConfig
    # AutoModel gives the network that predicts masks; the bare features model is loaded by its own name.
    assert type(AutoModel.from_pretrained(saved_folder)) is U2NetForImageSegmentation
    assert type(AutoModelForImageSegmentation.from_pretrained(saved_folder)) is U2NetForImageSegmentation
    assert type(AutoModelForSemanticSegmentation.from_pretrained(saved_folder)) is U2NetForImageSegmentation
    assert type(U2NetModel.from_pretrained(saved_folder)) is U2NetModel
    processor = AutoImageProcessor.from_pretrained(saved_folder)
    assert type(processor) is U2NetImageProcessor and processor.size == {"height": 64, "width": 64}
    assert type(AutoModel.from_config(U2NetConfig(preset="lite"))) is U2NetForImageSegmentation


def images_of_mixed_sizes():
    rng = np.random.default_rng(0)
    return [
        PIL.Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in [(40, 60), (33, 17), (64, 64)]
    ]


def check_foreground_annotations(results, images):
    for annotations, image in zip(results, images):
        assert [a["label"] for a in annotations] in (["foreground"], [])
        for annotation in annotations:
            assert annotation["mask"].mode == "L" and annotation["mask"].size == image.size
            assert set(np.unique(np.asarray(annotation["mask"]))) <= {0, 255}
            assert 0.5 <= annotation["score"] <= 1


class Recorder(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def transformers_log():
    """Messages logged at warning level or above by transformers. Its loggers do not propagate to the root logger,
    so pytest's caplog never sees them: listen on the library's own root logger."""
    recorder = Recorder()
    logger = logging.getLogger("transformers")
    logger.addHandler(recorder)
    yield recorder.messages
    logger.removeHandler(recorder)


def test_pipeline_from_folder_returns_foreground_masks_without_complaints(saved_folder, transformers_log):
    images = images_of_mixed_sizes()
    segmenter = pipeline("image-segmentation", model=str(saved_folder))
    results = segmenter(images, threshold=0.0, batch_size=2)
    # transformers 4.x says "Device set to use cpu" and "Using a slow image processor" at warning level for every
    # model; u2net_hf drops them for U2-Net models (and only for them): nothing may be said.
    assert transformers_log == []
    check_foreground_annotations(results, images)
    assert any(results), "a threshold of 0 reports every image with a foreground pixel"


def test_pipeline_batches_a_model_asked_for_its_hidden_states(saved_folder):
    # The stage features are a tuple of tensors of different sizes: the pipeline must still unbatch the outputs.
    images = images_of_mixed_sizes()
    expected = pipeline("image-segmentation", model=str(saved_folder))(images, threshold=0.0, batch_size=2)
    model = AutoModel.from_pretrained(saved_folder, output_hidden_states=True)
    assert model.config.output_hidden_states
    processor = U2NetImageProcessor.from_pretrained(saved_folder)
    segmenter = pipeline("image-segmentation", model=model, image_processor=processor)
    results = segmenter(images, threshold=0.0, batch_size=2)
    check_foreground_annotations(results, images)
    assert [[(a["label"], a["score"]) for a in r] for r in results] == [
        [(a["label"], a["score"]) for a in r] for r in expected
    ]
    for annotations, reference in zip(results, expected):
        for annotation, other in zip(annotations, reference):
            assert np.array_equal(np.asarray(annotation["mask"]), np.asarray(other["mask"]))


def test_pipeline_masks_equal_the_processor_post_processing(saved_folder):
    model = U2NetForImageSegmentation.from_pretrained(saved_folder)
    processor = U2NetImageProcessor.from_pretrained(saved_folder)
    segmenter = pipeline("image-segmentation", model=model, image_processor=processor)
    image = images_of_mixed_sizes()[0]
    (annotation,) = segmenter(image, threshold=0.0, mask_threshold=0.5)
    with torch.no_grad():
        outputs = model(**processor(image, return_tensors="pt"))
    (expected,) = processor.post_process_semantic_segmentation(outputs, target_sizes=[image.size[::-1]])
    assert np.array_equal(np.asarray(annotation["mask"]) == 255, expected.numpy() == 1)


def test_pipeline_threshold_drops_an_uncertain_foreground(saved_folder):
    segmenter = pipeline("image-segmentation", model=str(saved_folder))
    image = images_of_mixed_sizes()[0]
    (annotation,) = segmenter(image, threshold=0.0)
    assert segmenter(image, threshold=min(1.0, annotation["score"] + 1e-3)) == []


HIDE_U2NET_HF = """
import sys
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name == "u2net_hf" or name.startswith("u2net_hf."):
            raise ImportError("u2net_hf is hidden for this test")
        return None
sys.meta_path.insert(0, _Hide())
"""


def test_add_remote_code_writes_the_json_files_with_the_package_atomic_writer(saved_folder, monkeypatch):
    written = []

    def spy(path, text):
        written.append(Path(path).name)
        return write_text_atomically(path, text)

    monkeypatch.setattr(registration, "write_text_atomically", spy)
    before = sorted(p.name for p in saved_folder.iterdir())
    assert add_remote_code(saved_folder) == list(registration.REMOTE_CODE_FILES)
    assert sorted(written) == ["config.json", "preprocessor_config.json"]
    assert sorted(p.name for p in saved_folder.iterdir()) == sorted(before + list(registration.REMOTE_CODE_FILES))
    config = json.loads((saved_folder / "config.json").read_text())
    assert config["auto_map"] == registration.AUTO_MAP and config["model_type"] == "u2net"
    # The processor's class is named in config.json's auto_map only (see registration.AUTO_MAP).
    processor_config = json.loads((saved_folder / "preprocessor_config.json").read_text())
    assert "image_processor_type" not in processor_config and "auto_map" not in processor_config
    assert config["auto_map"]["AutoImageProcessor"] == "image_processing_u2net.U2NetImageProcessor"


def test_remove_remote_code_gives_back_the_plain_folder(saved_folder):
    plain = {name: (saved_folder / name).read_text() for name in ("config.json", "preprocessor_config.json")}
    registration.remove_remote_code(saved_folder)  # nothing to remove: the files keep their bytes
    assert {name: (saved_folder / name).read_text() for name in plain} == plain
    add_remote_code(saved_folder)
    registration.remove_remote_code(saved_folder)
    assert not any((saved_folder / name).exists() for name in registration.REMOTE_CODE_FILES)
    for name, text in plain.items():
        assert json.loads((saved_folder / name).read_text()) == json.loads(text), name


@pytest.mark.slow
def test_remote_code_folder_loads_without_the_package(tmp_path, saved_folder, tiny_model):
    add_remote_code(saved_folder)
    assert set(json.loads((saved_folder / "config.json").read_text())["auto_map"]) >= {
        "AutoConfig",
        "AutoModel",
        "AutoModelForImageSegmentation",
        "AutoModelForSemanticSegmentation",
    }
    pixel_values = torch.randn(1, 3, 64, 64)
    np.save(tmp_path / "pixel_values.npy", pixel_values.numpy())
    with torch.no_grad():
        np.save(tmp_path / "expected.npy", tiny_model(pixel_values).logits.numpy())
        np.save(tmp_path / "features.npy", tiny_model.u2net(pixel_values).hidden_states[0].numpy())
    image = images_of_mixed_sizes()[0]
    image.save(tmp_path / "image.png")
    (tmp_path / "hide").mkdir()
    (tmp_path / "hide" / "sitecustomize.py").write_text(HIDE_U2NET_HF)
    script = textwrap.dedent(
        f"""
        import numpy as np, torch
        from transformers import AutoImageProcessor, AutoModel, AutoModelForImageSegmentation, AutoModelForSemanticSegmentation, pipeline
        try:
            import u2net_hf
            raise SystemExit("u2net_hf should not be importable here")
        except ImportError:
            pass
        folder = {str(saved_folder)!r}
        model = AutoModelForImageSegmentation.from_pretrained(folder, trust_remote_code=True)
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        with torch.no_grad():
            logits = model(torch.from_numpy(np.load({str(tmp_path / "pixel_values.npy")!r}))).logits.numpy()
        assert np.array_equal(logits, np.load({str(tmp_path / "expected.npy")!r})), "outputs differ"
        # AutoModel gives the segmentation model too, and its stage features on request.
        auto = AutoModel.from_pretrained(folder, trust_remote_code=True)
        assert type(auto).__name__ == "U2NetForImageSegmentation", type(auto)
        assert type(auto).__module__.startswith("transformers_modules"), type(auto).__module__
        with torch.no_grad():
            outputs = auto(torch.from_numpy(np.load({str(tmp_path / "pixel_values.npy")!r})), output_hidden_states=True)
        assert np.array_equal(outputs.logits.numpy(), logits), "AutoModel and AutoModelForImageSegmentation differ"
        assert np.array_equal(outputs.hidden_states[0].numpy(), np.load({str(tmp_path / "features.npy")!r}))
        assert type(AutoModelForSemanticSegmentation.from_pretrained(folder, trust_remote_code=True)) is type(model)
        processor = AutoImageProcessor.from_pretrained(folder, trust_remote_code=True)
        assert processor.size == {{"height": 64, "width": 64}}
        segmenter = pipeline("image-segmentation", model=folder, image_processor=folder, trust_remote_code=True)
        print("labels", [a["label"] for a in segmenter({str(tmp_path / "image.png")!r}, threshold=0.0)])
        """
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(tmp_path / "hide"),
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "labels ['foreground']" in result.stdout or "labels []" in result.stdout


def test_a_folder_with_code_loads_with_the_package_and_no_trust_flag(saved_folder, transformers_log, capfd):
    # Where u2net_hf is installed, a repo pushed with its code loads as any other: the package's classes, no
    # question about running the repo's code, nothing said.
    add_remote_code(saved_folder)
    capfd.readouterr()
    assert type(AutoModel.from_pretrained(saved_folder)) is U2NetForImageSegmentation
    assert type(AutoImageProcessor.from_pretrained(saved_folder)) is U2NetImageProcessor
    segmenter = pipeline("image-segmentation", model=str(saved_folder))
    assert type(segmenter.model) is U2NetForImageSegmentation
    assert type(segmenter.image_processor) is U2NetImageProcessor
    assert capfd.readouterr() == ("", "") and transformers_log == []
