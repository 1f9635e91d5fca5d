"""Tests of `u2net_hf.sessions`: a loaded model as one object (`new_session`, `Session`), the one cache of the
functional API, and the error mode of long runs. A tiny random model keeps them fast."""

from __future__ import annotations

import io
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import PIL.Image
import pytest
import torch
from test_background import count_model_loads, encode, expected_probability, random_rgb, save_tiny_model

from u2net_hf import RemovalError, Session, U2NetForImageSegmentation, new_session
from u2net_hf.sessions import CACHED_SESSIONS, cached_session, remove_background, remove_backgrounds


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> str:
    return str(save_tiny_model(tmp_path_factory.mktemp("tiny-u2net")))


@pytest.fixture(scope="module")
def session(model_dir) -> Session:
    return new_session(model_dir, device="cpu")


def mixed_images(count: int) -> list:
    """Images of mixed sizes and kinds: arrays, PIL images and PNG bytes."""
    images = []
    for index in range(count):
        rgb = random_rgb(17 + 9 * index, 23 + 13 * (count - index), seed=index)
        kind = index % 3
        images.append(
            rgb if kind == 0 else PIL.Image.fromarray(rgb) if kind == 1 else encode(PIL.Image.fromarray(rgb))
        )
    return images


def as_bytes(result) -> bytes:
    if isinstance(result, bytes):
        return result
    return np.ascontiguousarray(np.asarray(result)).tobytes()


def test_a_session_holds_the_model_its_processor_backend_device_and_threads(model_dir):
    session = new_session(model_dir, backend="torch", device="cpu", num_threads=1)
    assert session.backend == "torch" and session.device == torch.device("cpu") and session.num_threads == 1
    assert session.image_processor.size == {"height": 64, "width": 64}  # the processor saved with the model
    # A named model runs in the optimized mode: its batch normalization is folded away.
    assert not any(isinstance(module, torch.nn.BatchNorm2d) for module in session.model.modules())
    assert "tiny-u2net" in repr(session) and "backend='torch'" in repr(session)


def test_new_session_loads_every_time_and_the_cache_once(model_dir):
    assert new_session(model_dir).model is not new_session(model_dir).model
    assert cached_session(model_dir, device="cpu") is cached_session(model_dir, device="cpu")
    assert cached_session(model_dir, device="cpu") is not cached_session(model_dir, backend="onnxruntime")


def test_a_model_object_is_wrapped_as_it_is(model_dir):
    model = U2NetForImageSegmentation.from_pretrained(model_dir).eval()
    session = new_session(model)
    assert session.model is model and session.device == torch.device("cpu")
    assert any(isinstance(module, torch.nn.BatchNorm2d) for module in model.modules())  # not changed


def test_predict_gives_the_soft_masks_of_the_model(session, model_dir):
    images = [random_rgb(30, 50, seed=1), random_rgb(41, 19, seed=2)]
    masks = session.predict(images, batch_size=2)
    assert [mask.shape for mask in masks] == [(30, 50), (41, 19)]
    assert all(mask.dtype == np.float32 and mask.min() >= 0 and mask.max() <= 1 for mask in masks)
    for image, mask in zip(images, masks, strict=True):
        np.testing.assert_allclose(mask, expected_probability(model_dir, image), atol=1e-4)
    single = session.predict(images[0])  # one image in, one mask out
    np.testing.assert_array_equal(single, session.predict([images[0]], batch_size=1)[0])


def test_remove_background_with_a_session_equals_session_remove(session):
    image = random_rgb(33, 47, seed=3)
    np.testing.assert_array_equal(remove_background(image, session=session), session.remove(image))
    np.testing.assert_array_equal(
        remove_background(image, session=session, mask_only=True), session.remove(image, mask_only=True)
    )
    batched = list(remove_backgrounds([image, image], session=session, threshold=0.5))
    np.testing.assert_array_equal(batched[1], session.remove(image, threshold=0.5))


def test_one_session_used_from_eight_threads_gives_the_results_of_one_thread(session):
    images = mixed_images(16)
    sequential = [as_bytes(session.remove(image)) for image in images]
    start = threading.Barrier(8)

    def remove_in_thread(indices: range) -> list[tuple[int, bytes]]:
        start.wait()  # all eight at once
        return [(index, as_bytes(session.remove(images[index]))) for index in indices]

    with ThreadPoolExecutor(8) as pool:
        chunks = list(pool.map(remove_in_thread, [range(worker, 16, 8) for worker in range(8)]))
    concurrent = dict(pair for chunk in chunks for pair in chunk)
    assert len(concurrent) == 16
    for index, expected in enumerate(sequential):
        assert concurrent[index] == expected, index


def test_remove_many_from_many_threads_keeps_each_run_in_order(session):
    images = mixed_images(12)
    expected = [as_bytes(result) for result in session.remove_many(images, batch_size=1, mask_only=True)]

    def run(_):
        return [as_bytes(result) for result in session.remove_many(images, batch_size=4, mask_only=True)]

    with ThreadPoolExecutor(4) as pool:
        for results in pool.map(run, range(4)):
            # Batches of 4 against batches of 1: float rounding may move an alpha level on very few pixels.
            for got, want in zip(results, expected, strict=True):
                difference = np.abs(np.frombuffer(got, np.uint8).astype(int) - np.frombuffer(want, np.uint8))
                assert difference.max() <= 1 and (difference > 0).mean() < 0.01


def test_errors_return_yields_a_removal_error_naming_the_image_and_goes_on(session, tmp_path):
    good = random_rgb(20, 20, seed=4)
    missing = tmp_path / "missing.png"
    inputs = [good, b"not an image at all", missing, {"not": "an image"}, good]
    results = list(session.remove_many(inputs, batch_size=2, errors="return"))
    assert [type(result) for result in results] == [np.ndarray, RemovalError, RemovalError, RemovalError, np.ndarray]
    assert str(results[1]) == "image 1: not an image file Pillow can read (unknown format)."
    assert (results[1].name, results[1].index, results[1].reason) == (
        "image 1",
        1,
        "not an image file Pillow can read (unknown format).",
    )
    assert str(results[2]) == f"{missing}: no such file."
    assert str(results[3]).startswith("image 3 is a dict; expected a file path")
    np.testing.assert_array_equal(results[4], results[0])


def test_errors_raise_stops_at_the_bad_image(session):
    results = session.remove_many([random_rgb(8, 8), b"garbage"], batch_size=1)
    assert isinstance(next(results), np.ndarray)
    with pytest.raises(ValueError, match="image 1: not an image file"):
        next(results)


def test_the_model_runs_on_the_next_batch_while_the_last_one_is_encoded(session, monkeypatch):
    import u2net_hf.sessions as sessions

    events, lock = [], threading.Lock()

    def log(event):
        with lock:
            events.append(event)

    model, cut_out = session._logits, sessions.cut_out

    def logged_model(pixel_values):
        log("model")
        return model(pixel_values)

    def slow_cut_out(item, probability, *, options):
        log(f"finish {item.index} starts")
        threading.Event().wait(0.3)  # an encoder slower than the model, as PNGs of large photos are
        result = cut_out(item, probability, options=options)
        log(f"finish {item.index} ends")
        return result

    monkeypatch.setattr(session, "_logits", logged_model)
    monkeypatch.setattr(sessions, "cut_out", slow_cut_out)
    results = list(session.remove_many([random_rgb(16, 16, seed=seed) for seed in range(3)], batch_size=1))
    assert len(results) == 3 and all(isinstance(result, np.ndarray) for result in results)
    # The model has run on image k + 1 before image k is composited and encoded.
    for index in (0, 1):
        assert events[: events.index(f"finish {index} ends")].count("model") == index + 2, events


def test_output_format_gives_encoded_bytes(session):
    image = random_rgb(24, 32, seed=5)
    webp = session.remove(image, output_format="webp")
    with PIL.Image.open(io.BytesIO(webp)) as decoded:
        assert (decoded.format, decoded.mode, decoded.size) == ("WEBP", "RGBA", (32, 24))
    png = session.remove(image, output_format="png", compress_level=9)
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(io.BytesIO(png))), np.asarray(session.remove(image)))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.remove_many([], errors="ignore"), "errors must be 'raise' or 'return'"),
        (lambda s: s.remove_many([], batch_size=0), "batch_size must be a positive integer"),
        (lambda s: s.remove(random_rgb(8, 8), output_format="docx"), "Unknown output format 'docx'"),
        (lambda s: s.remove(random_rgb(8, 8), compress_level=10), "compress_level is a zlib level"),
        (lambda s: new_session(s.model, num_threads=0), "num_threads must be a positive integer"),
        (lambda s: remove_background(random_rgb(8, 8), session="u2net-lite"), "session must be a Session"),
    ],
)
def test_bad_arguments_are_one_clear_error(session, call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(session)


def test_the_cache_follows_a_folder_saved_again(tmp_path):
    folder = save_tiny_model(tmp_path / "model")
    first = cached_session(str(folder))
    torch.manual_seed(1)
    U2NetForImageSegmentation.from_pretrained(folder).save_pretrained(folder)  # same content, new files
    assert cached_session(str(folder)) is not first


def test_the_cache_keeps_a_few_sessions(tmp_path):
    folders = [str(save_tiny_model(tmp_path / f"model{index}")) for index in range(CACHED_SESSIONS + 1)]
    sessions = [cached_session(folder) for folder in folders]
    assert cached_session(folders[-1]) is sessions[-1]
    assert cached_session(folders[0]) is not sessions[0]  # the oldest was dropped


def test_one_load_when_many_threads_ask_the_cache_at_once(tmp_path, monkeypatch):
    folder = str(save_tiny_model(tmp_path / "model"))
    loads = count_model_loads(monkeypatch)
    with ThreadPoolExecutor(8) as pool:
        sessions = list(pool.map(lambda _: cached_session(folder), range(8)))
    assert len(loads) == 1 and all(session is sessions[0] for session in sessions)


# --- quiet, honest loading: our loaders show no transformers output, and leave the user's settings alone -------


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("loader", ["load_model", "new_session", "new_session_onnx"])
def test_our_loaders_show_no_transformers_warnings_or_progress_bars(model_dir, loader, capfd):
    from transformers.utils import logging as transformers_logging

    from u2net_hf import load_model

    if loader == "new_session_onnx":
        pytest.importorskip("onnxruntime")
    handler = _Records()
    logger = logging.getLogger("transformers")  # its loggers do not propagate: listen on it directly
    logger.addHandler(handler)
    # The user's own settings: everything at info level and progress bars on. Ours must not show, theirs stay.
    verbosity, bars = transformers_logging.get_verbosity(), transformers_logging.is_progress_bar_enabled()
    transformers_logging.set_verbosity_info()
    transformers_logging.enable_progress_bar()
    try:
        if loader == "load_model":
            load_model(model_dir)
        else:
            new_session(model_dir, backend="onnxruntime" if loader.endswith("onnx") else "torch")
        assert transformers_logging.get_verbosity() == logging.INFO
        assert transformers_logging.is_progress_bar_enabled()
    finally:
        logger.removeHandler(handler)
        transformers_logging.set_verbosity(verbosity)
        if not bars:
            transformers_logging.disable_progress_bar()
    assert [record.getMessage() for record in handler.records if record.levelno >= logging.WARNING] == []
    assert "Loading weights" not in capfd.readouterr().err


def test_a_partial_load_asked_for_stays_quiet_but_the_refusal_is_loud(tmp_path, capfd):
    from safetensors.torch import load_file, save_file

    from u2net_hf import load_model

    folder = save_tiny_model(tmp_path / "partial")
    tensors = load_file(folder / "model.safetensors")
    save_file({k: v for k, v in tensors.items() if not k.startswith("fusion.")}, folder / "model.safetensors")
    with pytest.raises(ValueError, match="2 missing"):
        new_session(str(folder))
    load_model(str(folder), strict=False)
    assert "LOAD REPORT" not in capfd.readouterr().err
