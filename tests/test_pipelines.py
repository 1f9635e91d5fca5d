"""pipeline("background-removal") and the stock pipeline("image-segmentation") on real photos: what they return,
that the cut-outs are those of remove_background, and that nothing is logged at warning level."""

import json
import subprocess
import sys
import textwrap
import warnings

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


@pytest.mark.slow
def test_stock_pipeline_keeps_a_faint_subject_at_its_default_threshold(transformers_log):  # noqa: F811
    # scikit-image's moon: the bundled model's peak foreground probability is about 0.78, under the pipeline's
    # default threshold of 0.9, yet there is a foreground: it is reported, with that score.
    data = pytest.importorskip("skimage.data")
    moon = PIL.Image.fromarray(data.moon())
    segmenter = pipeline("image-segmentation", model=BUNDLED)
    (segment,) = segmenter(moon)
    assert segment["label"] == "foreground" and 0.5 < segment["score"] < 0.9, segment["score"]
    assert np.asarray(segment["mask"]).any()
    assert segmenter(moon, threshold=0.9) == [], "a threshold the caller chooses filters by the score"
    assert [s["label"] for s in segmenter(moon, threshold=0.5)] == ["foreground"]
    assert transformers_log == []


@pytest.fixture
def progress_bars_on():
    """transformers' progress bars on, as a user has them (the tests turn them off)."""
    from transformers.utils import logging as transformers_logging

    with warnings.catch_warnings():
        # huggingface_hub keeps its own bars off (it read HF_HUB_DISABLE_PROGRESS_BARS at import) and says so.
        warnings.simplefilter("ignore", UserWarning)
        transformers_logging.enable_progress_bar()
    yield transformers_logging
    transformers_logging.disable_progress_bar()


def test_pipelines_load_without_progress_bars_or_messages(capfd, transformers_log, progress_bars_on):  # noqa: F811
    capfd.readouterr()
    segmenter = pipeline("image-segmentation", model=BUNDLED)
    remover = pipeline("background-removal", model=BUNDLED)
    remover(small_photo())
    segmenter(small_photo())
    captured = capfd.readouterr()
    assert captured.err == "" and transformers_log == []
    assert progress_bars_on.is_progress_bar_enabled(), "the user's own progress bars stay on"
    progress_bars_on.tqdm(range(2), desc="the user's own bar")
    assert "the user's own bar" in capfd.readouterr().err


def test_a_users_tqdm_hook_stays_and_sees_other_bars(capfd, progress_bars_on):
    transformers_logging = progress_bars_on
    if not hasattr(transformers_logging, "set_tqdm_hook"):  # transformers 4.x: no hook, and no bar to drop
        capfd.readouterr()
        U2NetForImageSegmentation.from_pretrained(BUNDLED)
        assert capfd.readouterr().err == ""
        return
    seen = []

    def users_hook(factory, args, kwargs):
        seen.append(kwargs.get("desc"))
        return transformers_logging.EmptyTqdm(*args, **kwargs)

    previous = transformers_logging.set_tqdm_hook(users_hook)
    try:
        U2NetForImageSegmentation.from_pretrained(BUNDLED)
        transformers_logging.tqdm(range(2), desc="the user's own bar")
        assert transformers_logging.set_tqdm_hook(users_hook) is users_hook, "the user's hook is still set"
    finally:
        transformers_logging.set_tqdm_hook(previous)
    assert seen == ["the user's own bar"]


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


@pytest.mark.slow
def test_remote_code_loads_say_nothing_without_the_package(tmp_path, saved_folder):
    # What the card shows for a repo with code, in a Python without u2net_hf: nothing on stderr at all (no
    # warning, no "slow image processor" line on 4.x, no weight-loading bar on 5.x).
    add_remote_code(saved_folder)
    (tmp_path / "hide").mkdir()
    (tmp_path / "hide" / "sitecustomize.py").write_text(HIDE_U2NET_HF)
    script = textwrap.dedent(
        f"""
        import numpy as np, PIL.Image, torch
        from transformers import AutoImageProcessor, AutoModelForImageSegmentation, pipeline
        folder = {str(saved_folder)!r}
        # The processor first and alone: on 4.x that load used to warn before any file of the repo had run.
        processor = AutoImageProcessor.from_pretrained(folder, trust_remote_code=True)
        model = AutoModelForImageSegmentation.from_pretrained(folder, trust_remote_code=True).eval()
        image = PIL.Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8))
        with torch.no_grad():
            outputs = model(**processor(image, return_tensors="pt"))
        assert processor.post_process_saliency(outputs, target_sizes=[image.size[::-1]])[0].shape == (48, 64)
        assert pipeline("background-removal", model=folder, trust_remote_code=True)(image).mode == "RGBA"
        segments = pipeline("image-segmentation", model=folder, trust_remote_code=True)(image, threshold=0.0)
        assert [s["label"] for s in segments] == ["foreground"], segments
        print("done")
        """
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path / "hide"), "HF_HOME": str(tmp_path / "hf")}
    env["HF_HUB_OFFLINE"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "done" and result.stderr == "", result.stderr[-3000:]
