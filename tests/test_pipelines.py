"""pipeline("background-removal") and the stock pipeline("image-segmentation") on real photos: what they return,
that the cut-outs are those of remove_background, and that nothing is logged at warning level."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import PIL.Image
import pytest
from test_registration import HIDE_U2NET_HF, transformers_log  # noqa: F401 - a fixture
from transformers import pipeline

import u2net_hf
from u2net_hf import U2NetForImageSegmentation, add_remote_code, new_session, registration, remove_background
from u2net_hf.pipelines import BackgroundRemovalPipeline

BUNDLED = str(u2net_hf.resolve_model_path("u2net-lite"))
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle")


@pytest.fixture(scope="module")
def five_photos():
    data = pytest.importorskip("skimage.data")
    photos = {name: getattr(data, name)() for name in PHOTOS[:4]}
    photos["motorcycle"] = data.stereo_motorcycle()[0]
    return {name: PIL.Image.fromarray(array) for name, array in photos.items()}


def small_photo(seed=0, size=(64, 48)):
    rng = np.random.default_rng(seed)
    return PIL.Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def alpha(image) -> np.ndarray:
    return np.asarray(image)[..., 3]


@pytest.mark.slow
def test_stock_pipeline_finds_the_foreground_of_each_of_five_photos(five_photos, transformers_log):  # noqa: F811
    segmenter = pipeline("image-segmentation", model=BUNDLED)
    for name, photo in five_photos.items():
        segments = segmenter(photo)
        assert [s["label"] for s in segments] == ["foreground"], name
        (segment,) = segments
        # The score is the peak foreground probability: the model is sure there is a subject in each photo.
        assert 0.99 <= segment["score"] <= 1, (name, segment["score"])
        mask = np.asarray(segment["mask"])
        assert segment["mask"].size == photo.size and set(np.unique(mask)) <= {0, 255} and mask.any(), name
    assert transformers_log == []


def test_stock_pipeline_returns_nothing_only_without_foreground(saved_folder):
    segmenter = pipeline("image-segmentation", model=str(saved_folder))
    photo = small_photo()
    assert [s["label"] for s in segmenter(photo, threshold=0.0)] == ["foreground"]
    assert segmenter(photo, threshold=0.0, mask_threshold=1.0) == []  # no pixel is foreground


def test_background_removal_is_registered_on_import():
    from transformers.pipelines import PIPELINE_REGISTRY

    assert "background-removal" in PIPELINE_REGISTRY.get_supported_tasks()
    assert PIPELINE_REGISTRY.check_task("background-removal")[1]["impl"] is BackgroundRemovalPipeline


def test_cutouts_and_masks_equal_remove_background(saved_folder, transformers_log):  # noqa: F811
    remover = pipeline("background-removal", model=str(saved_folder))
    photo = small_photo()
    expected = remove_background(photo, model=remover.model)
    cutout = remover(photo)
    assert cutout.mode == "RGBA" and cutout.size == photo.size
    assert np.array_equal(np.asarray(cutout), np.asarray(expected))
    mask = remover(photo, return_mask=True)
    assert mask.mode == "L" and np.array_equal(np.asarray(mask), alpha(expected))
    assert len(np.unique(np.asarray(mask))) > 2, "the mask is soft"
    assert transformers_log == []


def test_lists_and_batches_give_one_image_each(saved_folder):
    remover = pipeline("background-removal", model=str(saved_folder))
    photos = [small_photo(seed, size) for seed, size in enumerate([(64, 48), (33, 17), (20, 40)])]
    one_by_one = [remover(photo) for photo in photos]
    for batch_size in (1, 2):
        results = remover(photos, batch_size=batch_size)
        assert [r.size for r in results] == [p.size for p in photos]
        for result, single in zip(results, one_by_one):
            assert np.array_equal(np.asarray(result), np.asarray(single))


def test_remove_background_options_pass_through(saved_folder, tmp_path):
    remover = pipeline("background-removal", model=str(saved_folder))
    photo = small_photo()
    model = remover.model
    for options in ({"bg_color": "white"}, {"threshold": 0.5}, {"mask_only": True}, {"output_format": "webp"}):
        result, expected = remover(photo, **options), remove_background(photo, model=model, **options)
        if isinstance(expected, bytes):
            assert result == expected, options
        else:
            assert result.mode == expected.mode and np.array_equal(np.asarray(result), np.asarray(expected)), options
    # Inputs are what u2net-hf reads: a path gives a PIL image, bytes give PNG bytes.
    photo.save(tmp_path / "photo.png")
    assert np.array_equal(np.asarray(remover(str(tmp_path / "photo.png"))), np.asarray(remover(photo)))
    assert remover((tmp_path / "photo.png").read_bytes()) == remove_background(
        (tmp_path / "photo.png").read_bytes(), model=model
    )
    with pytest.raises(TypeError, match="Unknown option"):
        remover(photo, bgcolor="white")


def test_a_session_runs_the_pipeline(saved_folder):
    session = new_session(str(saved_folder), device="cpu")
    remover = pipeline("background-removal", model=str(saved_folder), session=session)
    assert remover.session is session
    photo = small_photo()
    assert np.array_equal(np.asarray(remover(photo)), np.asarray(remove_background(photo, session=session)))


def test_import_stays_light():
    code = "import sys, u2net_hf; print(sorted(m for m in ('u2net_hf.sessions', 'u2net_hf.onnx', 'onnxruntime') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_remote_code_pipeline_without_the_package(tmp_path, saved_folder):
    add_remote_code(saved_folder)
    config = json.loads((saved_folder / "config.json").read_text())
    assert config["custom_pipelines"] == registration.CUSTOM_PIPELINES
    assert (saved_folder / "pipelines.py").read_text() == (
        registration.Path(registration.__file__).parent / "pipelines.py"
    ).read_text()
    photo = small_photo()
    photo.save(tmp_path / "photo.png")
    model = U2NetForImageSegmentation.from_pretrained(saved_folder)
    np.save(tmp_path / "expected.npy", np.asarray(remove_background(photo, model=model)))
    (tmp_path / "hide").mkdir()
    (tmp_path / "hide" / "sitecustomize.py").write_text(HIDE_U2NET_HF)
    script = textwrap.dedent(
        f"""
        import logging, numpy as np, PIL.Image
        messages = []
        class Recorder(logging.Handler):
            def emit(self, record):
                messages.append(record.getMessage())
        logging.getLogger("transformers").addHandler(Recorder(logging.WARNING))
        try:
            import u2net_hf
            raise SystemExit("u2net_hf should not be importable here")
        except ImportError:
            pass
        from transformers import pipeline
        remover = pipeline("background-removal", model={str(saved_folder)!r}, trust_remote_code=True)
        assert type(remover).__module__.startswith("transformers_modules"), type(remover).__module__
        photo = PIL.Image.open({str(tmp_path / "photo.png")!r})
        expected = np.load({str(tmp_path / "expected.npy")!r})
        cutout = remover(photo)
        assert cutout.mode == "RGBA" and np.array_equal(np.asarray(cutout), expected), "cut-outs differ"
        mask = remover(photo, return_mask=True)
        assert mask.mode == "L" and np.array_equal(np.asarray(mask), expected[..., 3]), "masks differ"
        assert [r.size for r in remover([photo, photo], batch_size=2)] == [photo.size] * 2
        try:
            remover(photo, bg_color="white")
            raise SystemExit("bg_color should need the package")
        except ValueError as error:
            assert "u2net-hf package" in str(error)
        print("messages", messages)
        """
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(tmp_path / "hide"),
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "messages []" in result.stdout, result.stdout[-2000:]
