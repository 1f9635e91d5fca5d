"""Tests of the background-removal API (`u2net_hf.background`): a tiny random model saved to a folder stands
in for real weights, since what is checked is the wiring (sizes, kinds, alpha, colours, errors), not the
quality of the masks."""

from __future__ import annotations

import hashlib
import io
import math
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageOps
import pytest
import torch
from conftest import TINY_STAGES

from u2net_hf import U2NetConfig, U2NetForImageSegmentation, U2NetImageProcessor
from u2net_hf.background import parse_color
from u2net_hf.devices import resolve_device
from u2net_hf.onnx import OnnxU2Net, export_onnx
from u2net_hf.optimization import optimize_for_inference
from u2net_hf.pretrained import load_model
from u2net_hf.sessions import cached_session, new_session, remove_background, remove_backgrounds

# --------------------------------------------------------------------------------------------------------------
# Helpers shared with tests/test_cli_remove.py


def save_tiny_model(folder: Path) -> Path:
    """A tiny random U2-Net and a 64x64 processor saved as a model folder (a model spec like any other)."""
    torch.manual_seed(0)
    U2NetForImageSegmentation(U2NetConfig(**TINY_STAGES)).eval().save_pretrained(folder)
    U2NetImageProcessor(size={"height": 64, "width": 64}).save_pretrained(folder)
    return folder


def encode(image: PIL.Image.Image, fmt: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def random_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def assert_colour_is_the_input_where_visible(rgba: np.ndarray, rgb: np.ndarray) -> None:
    """Straight alpha: wherever the cut-out shows anything, its colour is the input's, not darkened by the mask
    (no dark halos); where its alpha is 0, black."""
    np.testing.assert_array_equal(rgba[..., :3], np.where(rgba[..., 3:] > 0, rgb, 0))


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def damaged_png(chunk: bytes, *, in_checksum: bool) -> bytes:
    """A small PNG with one byte flipped in `chunk`: in its checksum, or in its data with the checksum
    recomputed to match (so that only decoding can tell)."""
    data = bytearray(encode(PIL.Image.fromarray(random_rgb(16, 16))))
    start = data.index(chunk)
    (length,) = struct.unpack(">I", data[start - 4 : start])
    end = start + 4 + length
    if in_checksum:
        data[end] ^= 0xFF
    else:
        data[start + 4 + length // 2] ^= 0xFF
        data[end : end + 4] = struct.pack(">I", zlib.crc32(bytes(data[start:end])))
    return bytes(data)


def decompression_bomb_png() -> bytes:
    """A 60-byte PNG whose header claims more than twice Pillow's pixel limit: Pillow refuses it on open."""
    side = math.isqrt(2 * PIL.Image.MAX_IMAGE_PIXELS) + 16
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    data = encode(PIL.Image.fromarray(random_rgb(64, 64)), "JPEG")
    return data[: len(data) // 2]


# name -> (file name, content, words the error must contain). Written to disk by the tests.
HOSTILE_FILES = {
    "zero-byte": ("empty.png", b"", "empty"),
    "text-named-jpg": ("notes.jpg", b"just some text, not a picture\n", "not an image"),
    "truncated-jpeg": ("cut.jpg", truncated_jpeg(), "truncated"),
    "png-bad-header-crc": ("header.png", damaged_png(b"IHDR", in_checksum=True), "broken PNG"),
    "png-bad-data-crc": ("data.png", damaged_png(b"IDAT", in_checksum=True), "bad checksum in its IDAT chunk"),
    "png-corrupt-data": ("zlib.png", damaged_png(b"IDAT", in_checksum=False), "corrupt PNG"),
    "decompression-bomb": ("bomb.png", decompression_bomb_png(), "decompression bomb"),
}


def odd_images() -> dict[str, tuple[bytes, np.ndarray, np.ndarray | None]]:
    """Unusual but valid files -> (file bytes, expected 8-bit RGB, expected own alpha or None), the
    expectations computed with plain Pillow / numpy."""
    cases = {}
    cmyk = encode(PIL.Image.new("CMYK", (24, 16), (0, 255, 255, 0)), "JPEG")
    cases["cmyk-jpeg"] = (cmyk, np.asarray(PIL.Image.open(io.BytesIO(cmyk)).convert("RGB")), None)

    gray16 = (np.arange(20 * 12, dtype=np.uint32).reshape(20, 12) * 270).astype(np.uint16)
    expected16 = np.repeat(np.rint(gray16 / 257).astype(np.uint8)[..., None], 3, axis=2)
    cases["16-bit-png"] = (encode(PIL.Image.fromarray(gray16)), expected16, None)

    palette = PIL.Image.fromarray(np.tile(np.arange(4, dtype=np.uint8), (10, 5)), mode="P")
    palette.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    palette_rgba = np.asarray(palette.convert("RGB"))
    palette_alpha = np.where(np.asarray(palette) == 0, 0, 255).astype(np.uint8)
    cases["palette-png-transparency"] = (encode(palette, transparency=0), palette_rgba, palette_alpha)

    gray = np.random.default_rng(1).integers(0, 256, (14, 18), dtype=np.uint8)
    own_alpha = np.random.default_rng(2).integers(0, 256, (14, 18), dtype=np.uint8)
    la = PIL.Image.merge("LA", [PIL.Image.fromarray(gray), PIL.Image.fromarray(own_alpha)])
    cases["la-png"] = (encode(la), np.repeat(gray[..., None], 3, axis=2), own_alpha)

    bits = np.random.default_rng(3).integers(0, 2, (9, 13)).astype(bool)
    one_bit = encode(PIL.Image.fromarray(bits).convert("1"))
    cases["1-bit-png"] = (one_bit, np.repeat((bits * 255).astype(np.uint8)[..., None], 3, axis=2), None)

    frames = [PIL.Image.new("RGB", (12, 10), color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    cases["animated-gif"] = (gif, np.full((10, 12, 3), (255, 0, 0), dtype=np.uint8), None)

    one_pixel = random_rgb(1, 1, seed=4)
    cases["1x1"] = (encode(PIL.Image.fromarray(one_pixel)), one_pixel, None)
    wide = random_rgb(10, 10000, seed=5)
    cases["10000x10"] = (encode(PIL.Image.fromarray(wide)), wide, None)
    return cases


def exif_rotated_jpeg(width: int = 40, height: int = 24, orientation: int = 6) -> bytes:
    """A JPEG stored `width` x `height` whose EXIF says to display it rotated (6: 90 degrees clockwise)."""
    exif = PIL.Image.Exif()
    exif[0x0112] = orientation
    return encode(PIL.Image.fromarray(random_rgb(height, width, seed=6)), "JPEG", exif=exif, quality=95)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> str:
    return str(save_tiny_model(tmp_path_factory.mktemp("tiny-u2net")))


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return random_rgb(48, 72, seed=7)


def expected_probability(model_dir: str, rgb: np.ndarray) -> np.ndarray:
    """The model's foreground probability at full size, computed directly with the model and its processor."""
    model = U2NetForImageSegmentation.from_pretrained(model_dir).eval()
    processor = U2NetImageProcessor.from_pretrained(model_dir)
    with torch.no_grad():
        outputs = model(**processor(rgb, return_tensors="pt"))
    return processor.post_process_saliency(outputs, target_sizes=[rgb.shape[:2]])[0].numpy()


def test_cutout_keeps_size_and_pixels_with_the_model_probability_as_alpha(model_dir, photo):
    cutout = remove_background(PIL.Image.fromarray(photo), model=model_dir, device="cpu")
    assert cutout.mode == "RGBA"
    assert cutout.size == (photo.shape[1], photo.shape[0])
    rgba = np.asarray(cutout)
    assert_colour_is_the_input_where_visible(rgba, photo)
    expected = np.rint(expected_probability(model_dir, photo) * 255).astype(np.uint8)
    np.testing.assert_array_equal(rgba[..., 3], expected)
    assert len(np.unique(rgba[..., 3])) > 2, "the default alpha must be soft"


@pytest.mark.parametrize("kind", ["path", "pathlib", "bytes", "pil", "ndarray"])
def test_result_comes_back_as_the_kind_of_the_input(model_dir, photo, tmp_path, kind):
    path = tmp_path / "photo.png"
    path.write_bytes(encode(PIL.Image.fromarray(photo)))
    given = {
        "path": str(path),
        "pathlib": path,
        "bytes": path.read_bytes(),
        "pil": PIL.Image.fromarray(photo),
        "ndarray": photo,
    }[kind]
    result = remove_background(given, model=model_dir)
    reference = np.asarray(remove_background(PIL.Image.fromarray(photo), model=model_dir))
    if kind == "bytes":
        assert isinstance(result, bytes) and result.startswith(b"\x89PNG")
        result = np.asarray(PIL.Image.open(io.BytesIO(result)))
    elif kind == "ndarray":
        assert isinstance(result, np.ndarray) and result.dtype == np.uint8 and result.shape == (48, 72, 4)
    else:
        assert isinstance(result, PIL.Image.Image)
        result = np.asarray(result)
    np.testing.assert_array_equal(result, reference)


def test_mask_only_is_an_l_image_equal_to_the_cutout_alpha(model_dir, photo):
    image = PIL.Image.fromarray(photo)
    mask = remove_background(image, model=model_dir, mask_only=True)
    assert mask.mode == "L" and mask.size == image.size
    np.testing.assert_array_equal(np.asarray(mask), np.asarray(remove_background(image, model=model_dir))[..., 3])


def test_threshold_gives_a_hard_alpha_at_that_probability(model_dir, photo):
    probability = expected_probability(model_dir, photo)
    threshold = float(np.median(probability))  # half the pixels on each side, whatever the random weights
    mask = remove_background(photo, model=model_dir, mask_only=True, threshold=threshold, device="cpu")
    assert set(np.unique(mask)) == {0, 255}
    np.testing.assert_array_equal(mask == 255, probability > threshold)
    cutout = remove_background(photo, model=model_dir, threshold=threshold, device="cpu")
    np.testing.assert_array_equal(cutout[..., 3], mask)
    # Half the cut-out is transparent: black there, the input's own colour in the rest.
    np.testing.assert_array_equal(cutout[mask == 0, :3], 0)
    np.testing.assert_array_equal(cutout[mask == 255, :3], photo[mask == 255])


@pytest.mark.parametrize(
    ("bg_color", "mode"), [((255, 255, 255), "RGB"), ("#204060", "RGB"), ((10, 200, 30, 128), "RGBA")]
)
def test_bg_color_composites_the_cutout_over_the_colour(model_dir, photo, bg_color, mode):
    result = remove_background(PIL.Image.fromarray(photo), model=model_dir, bg_color=bg_color)
    assert result.mode == mode and result.size == (72, 48)
    color = np.asarray(parse_color(bg_color), dtype=np.float64)
    alpha = np.asarray(remove_background(photo, model=model_dir, mask_only=True), dtype=np.float64)[..., None] / 255
    background_alpha = color[3] / 255 if len(color) == 4 else 1.0
    out_alpha = alpha + (1 - alpha) * background_alpha
    expected_rgb = (photo * alpha + color[:3] * (1 - alpha) * background_alpha) / out_alpha
    pixels = np.asarray(result, dtype=np.float64)
    np.testing.assert_allclose(pixels[..., :3], expected_rgb, atol=1)
    if mode == "RGBA":
        np.testing.assert_allclose(pixels[..., 3], out_alpha[..., 0] * 255, atol=1)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ((1, 2, 3), (1, 2, 3)),
        ([0, 0, 0, 255], (0, 0, 0, 255)),
        (np.array([9, 8, 7]), (9, 8, 7)),
        ("#fff", (255, 255, 255)),
        ("#00ff0080", (0, 255, 0, 128)),
        ("white", (255, 255, 255)),
    ],
)
def test_parse_color_reads_tuples_and_strings(given, expected):
    assert parse_color(given) == expected


@pytest.mark.parametrize("given", [(1, 2), (1, 2, 3, 4, 5), (256, 0, 0), (-1, 0, 0), (0.5, 0, 0), "#ggg", "nocolour"])
def test_parse_color_rejects_what_is_not_a_colour(given):
    with pytest.raises(ValueError, match="colour"):
        parse_color(given)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"mask_only": True, "bg_color": (0, 0, 0)}, "cannot be combined"),
        ({"threshold": 1.5}, r"threshold .* \[0, 1\]"),
        ({"threshold": -0.1}, r"threshold .* \[0, 1\]"),
        ({"device": "gpu"}, "Unknown device"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_options_raise_one_clear_error(model_dir, photo, options, match):
    with pytest.raises(ValueError, match=match):
        list(remove_backgrounds([photo], model=model_dir, **options))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_gpu_is_used_by_default_and_agrees_with_the_cpu(model_dir, photo):
    assert resolve_device(None) == torch.device("cuda")
    assert load_model(model_dir, device=resolve_device(None)).device.type == "cuda"
    on_gpu = remove_background(photo, model=model_dir, mask_only=True)
    on_cpu = remove_background(photo, model=model_dir, mask_only=True, device="cpu")
    assert np.abs(on_gpu.astype(int) - on_cpu.astype(int)).max() <= 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_asking_for_cuda_without_a_gpu_says_so():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    assert resolve_device(None) == torch.device("cpu")


def test_batches_give_the_same_results_as_single_images_in_order(model_dir):
    images = [random_rgb(20 + 7 * i, 30 + 5 * i, seed=i) for i in range(5)]
    batched = list(remove_backgrounds(images, model=model_dir, batch_size=3, mask_only=True))
    single = [remove_background(image, model=model_dir, mask_only=True) for image in images]
    for image, got, expected in zip(images, batched, single, strict=True):
        assert got.shape == image.shape[:2]
        # Float rounding may differ with the batch composition: at most one level out of 255, on few pixels.
        difference = np.abs(got.astype(int) - expected.astype(int))
        assert difference.max() <= 1 and (difference > 0).mean() < 0.01


def test_remove_backgrounds_reads_its_input_lazily(model_dir):
    consumed = []

    def images():
        for index in range(20):
            consumed.append(index)
            yield random_rgb(16, 16, seed=index)

    results = remove_backgrounds(images(), model=model_dir, batch_size=4)
    assert consumed == []  # nothing is read before the first result is asked for
    next(results)
    # The first batch comes out once the model has run on the second (it is composited meanwhile), and the third
    # is read while the model runs: three batches, no more.
    assert len(consumed) == 12
    assert len(list(results)) == 19 and len(consumed) == 20


def count_model_loads(monkeypatch) -> list:
    """Record every `U2NetForImageSegmentation.from_pretrained` call (its positional arguments) from now on."""
    calls = []
    original = U2NetForImageSegmentation.from_pretrained.__func__

    def counting_from_pretrained(cls, *args, **kwargs):
        calls.append(args)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(U2NetForImageSegmentation, "from_pretrained", classmethod(counting_from_pretrained))
    return calls


def test_the_model_is_loaded_once_and_reused(tmp_path, photo, monkeypatch):
    folder = save_tiny_model(tmp_path / "model")
    calls = count_model_loads(monkeypatch)
    for _ in range(3):
        remove_background(photo, model=str(folder))
    remove_background(photo, model=folder)
    assert len(calls) == 1


def test_a_named_model_runs_optimized_and_a_loaded_one_as_it_is(model_dir, photo):
    model = U2NetForImageSegmentation.from_pretrained(model_dir).eval()
    processor = U2NetImageProcessor.from_pretrained(model_dir)
    named = new_session(model_dir, backend="torch", device="cpu").model
    assert not any(isinstance(module, torch.nn.BatchNorm2d) for module in named.modules())
    assert new_session(model).model is model
    from_name = remove_background(photo, model=model_dir, backend="torch", device="cpu")
    optimized = optimize_for_inference(model)
    np.testing.assert_array_equal(from_name, remove_background(photo, model=optimized, image_processor=processor))
    # The eager model gives the same cut-out to within float rounding: one alpha level at most.
    from_object = remove_background(photo, model=model, image_processor=processor)
    assert np.abs(from_object.astype(int) - from_name).max() <= 1
    assert any(isinstance(module, torch.nn.BatchNorm2d) for module in model.modules())  # not changed


@pytest.mark.slow
def test_the_bundled_model_is_the_default():
    image = random_rgb(8, 8)
    bundled = optimize_for_inference(load_model("u2net-lite", device=resolve_device(None)))
    np.testing.assert_array_equal(remove_background(image), remove_background(image, model=bundled))


# --------------------------------------------------------------------------------------------------------------
# Backends


def test_onnxruntime_backend_gives_the_torch_cutout(model_dir, photo):
    on_torch = remove_background(photo, model=model_dir, device="cpu")
    on_onnxruntime = remove_background(photo, model=model_dir, backend="onnxruntime")
    # The two runtimes round float32 differently: the 8-bit alpha may move by one level, never more.
    assert np.abs(on_torch[..., 3].astype(int) - on_onnxruntime[..., 3]).max() <= 1
    assert_colour_is_the_input_where_visible(on_onnxruntime, photo)
    # The export carries the model's own preprocessing (64x64 here, not the default 320x320).
    assert new_session(model_dir, backend="onnxruntime").image_processor.size == {"height": 64, "width": 64}


def test_onnx_files_and_onnx_models_run_on_onnxruntime_unasked(model_dir, photo, tmp_path):
    path = export_onnx(model_dir, tmp_path / "tiny.onnx")
    from_file = remove_background(photo, model=str(path))
    loaded = new_session(path).model
    assert isinstance(loaded, OnnxU2Net) and loaded.name_or_path == str(path.resolve())
    np.testing.assert_array_equal(from_file, remove_background(photo, model=OnnxU2Net(path)))
    np.testing.assert_array_equal(from_file, remove_background(photo, model=model_dir, backend="onnxruntime"))


def test_onnx_sessions_are_loaded_once(model_dir):
    first = cached_session(model_dir, backend="onnxruntime")
    again = cached_session(model_dir, backend="onnxruntime")
    assert again is first and again.model is first.model and again.image_processor is first.image_processor
    on_cpu = new_session(model_dir, backend="onnxruntime", device="cpu")
    assert on_cpu.model.providers == ["CPUExecutionProvider"]


def _onnxruntime_has_cuda() -> bool:
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "tensorflow"}, "Unknown backend 'tensorflow': use 'torch' or 'onnxruntime'"),
        ({"backend": "torch", "int8": True}, "int8 runs on the onnxruntime backend"),
        ({"backend": "onnxruntime", "device": "mps"}, "runs on 'cpu' or 'cuda', not 'mps'"),
        ({"model": "missing.onnx"}, "ONNX file missing.onnx does not exist"),
        ({"model": "tiny.onnx", "backend": "torch"}, "tiny.onnx is an ONNX model: run it with backend='onnxruntime'"),
        ({"model": "tiny.onnx", "int8": True}, "is an ONNX file, run as it is"),
    ],
)
def test_backend_options_that_cannot_work_say_why(model_dir, tmp_path, monkeypatch, kwargs, message):
    monkeypatch.chdir(tmp_path)
    export_onnx(model_dir, tmp_path / "tiny.onnx")
    kwargs = {"model": model_dir, **kwargs}
    with pytest.raises((ValueError, FileNotFoundError), match=re.escape(message)):
        remove_background(random_rgb(8, 8), **kwargs)


def test_onnxruntime_without_cuda_refuses_a_cuda_device(model_dir):
    if _onnxruntime_has_cuda():
        session = new_session(model_dir, backend="onnxruntime", device="cuda")
        assert session.model.providers[0] == "CUDAExecutionProvider"
        return
    with pytest.raises(ValueError, match=r"no CUDA provider .* onnxruntime-gpu"):
        new_session(model_dir, backend="onnxruntime", device="cuda")


@pytest.mark.slow
def test_int8_keeps_the_masks_of_the_bundled_model_on_real_photos(real_photos):
    loaded = new_session(int8=True).model
    assert loaded.metadata["precision"] == "int8"
    for name, photo in real_photos.items():
        float32 = remove_background(photo, mask_only=True, device="cpu") > 127
        int8 = remove_background(photo, mask_only=True, int8=True) > 127
        iou = (float32 & int8).sum() / (float32 | int8).sum()
        assert iou >= 0.98, (name, iou)


def test_a_folder_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match=r"is a folder, not an image file"):
        remove_background(tmp_path)


@pytest.mark.parametrize("case", sorted(odd_images()))
def test_odd_but_valid_images_are_processed(model_dir, tmp_path, case):
    content, expected_rgb, own_alpha = odd_images()[case]
    path = tmp_path / f"{case}.img"
    path.write_bytes(content)
    cutout = remove_background(path, model=model_dir)
    mask = np.asarray(remove_background(path, model=model_dir, mask_only=True))
    height, width = expected_rgb.shape[:2]
    assert cutout.mode == "RGBA" and cutout.size == (width, height) and mask.shape == (height, width)
    rgba = np.asarray(cutout)
    assert_colour_is_the_input_where_visible(rgba, expected_rgb)
    # The input's own transparency is kept: the cut-out's alpha is the mask times it.
    expected_alpha = mask if own_alpha is None else np.rint(mask.astype(float) * own_alpha / 255)
    np.testing.assert_array_equal(rgba[..., 3], expected_alpha)


def test_exif_orientation_is_applied(model_dir, tmp_path):
    path = tmp_path / "rotated.jpg"
    path.write_bytes(exif_rotated_jpeg(width=40, height=24, orientation=6))
    shown = PIL.ImageOps.exif_transpose(PIL.Image.open(path))
    assert shown.size == (24, 40)
    cutout = remove_background(path, model=model_dir)
    assert cutout.size == (24, 40)
    assert_colour_is_the_input_where_visible(np.asarray(cutout), np.asarray(shown.convert("RGB")))
    assert remove_background(PIL.Image.open(path), model=model_dir).size == (24, 40)


def test_float_arrays_and_arrays_with_alpha(model_dir, photo):
    as_float = remove_background(photo.astype(np.float32) / 255, model=model_dir)
    np.testing.assert_array_equal(as_float, remove_background(photo, model=model_dir))
    alpha = np.random.default_rng(8).integers(0, 256, photo.shape[:2], dtype=np.uint8)
    with_alpha = remove_background(np.dstack([photo, alpha]), model=model_dir)
    mask = remove_background(photo, model=model_dir, mask_only=True)
    assert_colour_is_the_input_where_visible(with_alpha, photo)
    np.testing.assert_array_equal(with_alpha[..., 3], np.rint(mask.astype(float) * alpha / 255))


def test_inputs_are_never_modified(model_dir, photo, tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(exif_rotated_jpeg())
    checksum = sha256(path)
    image = PIL.Image.open(path)
    image.load()
    before = (image.mode, image.size, image.tobytes(), dict(image.getexif()))
    array = photo.copy()
    for source in (path, str(path), image, array, path.read_bytes()):
        remove_background(source, model=model_dir, bg_color=(1, 2, 3))
    assert sha256(path) == checksum
    assert (image.mode, image.size, image.tobytes(), dict(image.getexif())) == before
    np.testing.assert_array_equal(array, photo)


def test_png_bytes_are_encoded_with_the_run_length_strategy(model_dir, photo):
    as_bytes = remove_background(encode(PIL.Image.fromarray(photo)), model=model_dir)
    cutout = remove_background(PIL.Image.fromarray(photo), model=model_dir)
    assert as_bytes == encode(cutout, compress_type=zlib.Z_RLE)
    assert as_bytes != encode(cutout)  # Pillow's default strategy writes other bytes


def test_rgb_icc_profiles_are_kept(model_dir, photo):
    ImageCms = pytest.importorskip("PIL.ImageCms")
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = encode(PIL.Image.fromarray(photo), icc_profile=profile)
    result = remove_background(source, model=model_dir)
    assert PIL.Image.open(io.BytesIO(result)).info.get("icc_profile") == profile
