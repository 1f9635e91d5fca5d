"""Tests of the edge refinements (`u2net_hf.matting`, and the options of `u2net_hf.background` that run them):
alpha matting, colour decontamination and mask post-processing, on small generated composites whose true alpha
and foreground colours are known, through compose, sessions of both backends and the CLI."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
from test_background import save_tiny_model

from u2net_hf import matting
from u2net_hf.background import RemoveOptions, compose
from u2net_hf.cli import main
from u2net_hf.sessions import new_session

REPO_ROOT = Path(__file__).resolve().parent.parent


def composite(height: int = 96, width: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A textured orange disc with a soft border (16 px) over a textured blue background: the photo, its true
    alpha and its true foreground colours."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:height, :width].astype(np.float32)
    radius = np.hypot(rows - height / 2, cols - width / 2)
    alpha = np.clip((0.35 * min(height, width) - radius) / 16 + 0.5, 0, 1).astype(np.float32)
    foreground = np.stack([230 + 0 * cols, 120 + 40 * np.sin(cols / 5), 30 + 20 * np.cos(rows / 7)], -1)
    background = np.stack([20 + 15 * np.sin(rows / 6), 90 + 30 * np.cos(cols / 4), 210 + 0 * rows], -1)
    background += rng.normal(0, 4, background.shape)
    photo = alpha[..., None] * foreground + (1 - alpha[..., None]) * background
    return np.clip(np.rint(photo), 0, 255).astype(np.uint8), alpha, foreground


def unsure_model(alpha: np.ndarray, blur: float = 2.5) -> np.ndarray:
    """What a model that is unsure on the border gives: the true alpha of `composite`, its ramp widened `blur`
    times (out to where the true alpha is 0 or 1 the ramp is not known, so it is rebuilt from the disc)."""
    height, width = alpha.shape
    rows, cols = np.mgrid[:height, :width].astype(np.float32)
    distance = 0.35 * min(height, width) - np.hypot(rows - height / 2, cols - width / 2)
    return np.clip(distance / (16 * blur) + 0.5, 0, 1).astype(np.float32)


def veiled_disc(height: int = 120, width: int = 160, seed: int = 0):
    """A green disc, opaque within 12 px of its centre and half transparent out to 42 px (a veil, a scarf), over a
    textured background; with what a model says of it: sure of the opaque core, 0.97 over the veil (confident for
    rembg's trimap, not certain), unsure on the outer border. The photo, the true alpha, the model's alpha, the
    true foreground colours, and the veil (the pixels the trimap calls confident that are not certain)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:height, :width].astype(np.float32)
    radius = np.hypot(rows - height / 2, cols - width / 2)
    alpha = (np.where(radius < 12, 1.0, 0.5) * np.clip((42 - radius) / 6, 0, 1)).astype(np.float32)
    model = (np.where(radius < 12, 1.0, 0.97) * np.clip((50 - radius) / 12, 0, 1)).astype(np.float32)
    foreground = np.stack([60 + 0 * cols, 200 + 20 * np.sin(cols / 5), 120 + 0 * rows], -1)
    background = np.stack([200 + 40 * np.sin(rows / 6), 60 + 50 * np.cos(cols / 4), 210 + 0 * rows], -1)
    background += rng.normal(0, 4, background.shape)
    photo = np.clip(np.rint(alpha[..., None] * foreground + (1 - alpha[..., None]) * background), 0, 255)
    veil = (matting.trimap(model) == 255) & (model < 0.99)
    return photo.astype(np.uint8), alpha, model, foreground, veil


def sad(estimate: np.ndarray, truth: np.ndarray) -> float:
    return float(np.abs(estimate.astype(np.float64) - truth).sum())


def colour_error(colours: np.ndarray, alpha: np.ndarray, truth: np.ndarray) -> float:
    """Mean absolute error of the colours inside the soft band, weighted by the true alpha (what shows)."""
    band = (alpha > 0) & (alpha < 1)
    weights = alpha[band]
    return float((np.abs(colours[band].astype(np.float64) - truth[band]).mean(-1) * weights).sum() / weights.sum())


def cut_out(photo: np.ndarray, probability: np.ndarray, name: str = "disc.png", **options) -> np.ndarray:
    return np.asarray(compose(photo, probability, RemoveOptions.create(**options), name=name))


def matting_warnings(call) -> tuple[object, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in caught if issubclass(w.category, matting.MattingWarning)]


# --------------------------------------------------------------------------------------------------------------
# The trimap, the matte and the colours


def test_trimap_is_rembgs_thresholds_and_square_erosions():
    from scipy.ndimage import binary_erosion

    probability = np.random.default_rng(1).random((40, 50)).astype(np.float32)
    probability[5:30, 5:35] = 1.0
    probability[:, 45:] = 0.0
    mask = np.rint(probability * 255)
    square = np.ones((6, 6), dtype=bool)  # rembg's own recipe, with scipy's binary erosion
    expected = np.full(mask.shape, 128, np.uint8)
    expected[binary_erosion(mask > 200, structure=square)] = 255
    expected[binary_erosion(mask < 20, structure=square, border_value=1)] = 0
    np.testing.assert_array_equal(matting.trimap(probability, 200, 20, 6), expected)


def test_matting_recovers_the_true_soft_border_and_keeps_the_confident_alpha():
    photo, truth, _ = composite()
    model = unsure_model(truth)
    alpha = matting.estimate_alpha(photo, model, name="disc.png")
    assert sad(alpha, truth) < 0.5 * sad(model, truth)
    confident = matting.trimap(model) != 128
    np.testing.assert_array_equal(alpha[confident], model[confident])  # the model's alpha where it is sure


def test_the_matte_also_solves_what_the_trimap_calls_confident_but_the_model_is_not_certain_of():
    photo, truth, model, _, veil = veiled_disc()
    assert veil.sum() > 2000
    matte = matting.solve_matte(photo, model)
    assert matte[veil].max() < 0.9  # solved, not left at the model's 0.97
    assert np.abs(matte - truth)[veil].mean() < np.abs(model - truth)[veil].mean()
    core = model == 1
    np.testing.assert_array_equal(matte[core & (matting.trimap(model, 254, 1) == 255)], 1.0)  # certain stays
    alpha = matting.estimate_alpha(photo, model)
    np.testing.assert_array_equal(alpha[veil], model[veil])  # -a changes the trimap's band only


def test_a_model_certain_of_a_speck_only_is_matted_against_its_confident_pixels():
    photo, truth, foreground = composite()
    model = unsure_model(truth, blur=0.5) * 0.95  # confident over the disc, certain nowhere...
    height, width = model.shape
    model[height // 2 - 5 : height // 2 + 6, width // 2 - 5 : width // 2 + 6] = 1.0  # ...but a speck at the centre
    certain, confident = (matting.trimap(model, 254, 1) == 255).sum(), (matting.trimap(model) == 255).sum()
    assert 0 < certain < 0.005 * confident
    matte = matting.solve_matte(photo, model)
    core = truth == 1
    assert matte[core].min() > 0.9  # solved against the speck alone, the textured core sank to 0.3
    assert sad(matte, truth) < sad(model, truth)
    colours = matting.estimate_foreground(photo, model, matte=matte)
    assert np.abs(colours[core].astype(np.float64) - foreground[core]).mean() < 8


def test_colours_are_unmixed_with_the_matte_not_the_models_alpha():
    photo, _, model, foreground, veil = veiled_disc()
    cleaned = cut_out(photo, model, foreground_colors="estimate")
    np.testing.assert_array_equal(cleaned[..., 3], np.rint(model * 255))  # the alpha is the model's
    with_the_models_alpha = matting.estimate_foreground(photo, model)

    def error(colours):
        return np.abs(colours[veil].astype(np.float64) - foreground[veil]).mean()

    assert error(cleaned[..., :3]) < 0.5 * error(with_the_models_alpha)
    assert error(with_the_models_alpha) > 0.8 * error(photo)  # the model's 0.97 leaves the background in


def test_where_the_matte_sees_background_only_faint_pixels_keep_the_photos_colour():
    photo = np.random.default_rng(4).integers(0, 256, (32, 64, 3), dtype=np.uint8)
    alpha = np.full((32, 64), 0.3, np.float32)
    alpha[:, 32:] = 0.8
    colours = matting.estimate_foreground(photo, alpha, matte=np.full((32, 64), 0.01, np.float32))
    np.testing.assert_array_equal(colours[:, :32], photo[:, :32])  # faint, and background to the matte: as is
    assert (colours[:, 32:] != photo[:, 32:]).any(-1).mean() > 0.9  # shown nearly opaque: estimated


def test_a_large_image_is_matted_at_a_capped_resolution_and_upsampled_along_the_photos_edges():
    photo, truth, _ = composite(192, 256)
    model = unsure_model(truth)
    full = matting.estimate_alpha(photo, model)
    capped = matting.estimate_alpha(photo, model, max_pixels=192 * 256 // 4)  # solved at half the size
    assert sad(capped, truth) < 0.5 * sad(model, truth)
    assert np.abs(capped - full).mean() < 0.02
    assert capped.shape == truth.shape and capped.dtype == np.float32


def test_decontamination_estimates_the_foreground_colours_of_the_soft_band():
    photo, truth, foreground = composite()
    plain = cut_out(photo, truth)
    cleaned = cut_out(photo, truth, foreground_colors="estimate")
    np.testing.assert_array_equal(cleaned[..., 3], plain[..., 3])  # the alpha is left alone
    assert colour_error(cleaned[..., :3], truth, foreground) < 0.6 * colour_error(plain[..., :3], truth, foreground)
    opaque = truth == 1
    np.testing.assert_array_equal(cleaned[opaque][:, :3], photo[opaque])  # opaque pixels keep their own colours


def test_alpha_matting_also_unmixes_the_colours_and_beats_the_plain_cutout():
    photo, truth, foreground = composite()
    model = unsure_model(truth)
    plain = cut_out(photo, model)
    matted = cut_out(photo, model, alpha_matting=True)
    assert sad(matted[..., 3] / 255, truth) < 0.5 * sad(plain[..., 3] / 255, truth)
    assert colour_error(matted[..., :3], truth, foreground) < 0.6 * colour_error(plain[..., :3], truth, foreground)
    mask = cut_out(photo, model, alpha_matting=True, mask_only=True)
    np.testing.assert_array_equal(mask, matted[..., 3])  # the mask alone is the refined alpha


def test_post_processing_keeps_rembgs_silhouette():
    from scipy.ndimage import gaussian_filter
    from skimage.morphology import disk, opening

    rng = np.random.default_rng(3)
    model = np.clip(unsure_model(composite(120, 120)[1]) + rng.normal(0, 0.3, (120, 120)), 0, 1).astype(np.float32)
    mask = np.rint(model * 255).astype(np.uint8)
    rembg = gaussian_filter(opening(mask, disk(1)).astype(np.float64), sigma=2) >= 127  # rembg's -ppm
    cleaned = matting.post_process_mask(model)
    forced = (cleaned != model) & ((cleaned == 0) | (cleaned == 1))
    np.testing.assert_array_equal(cleaned[forced] == 1, rembg[forced])  # what ours makes hard, it makes rembg's
    assert forced.mean() > 0.1  # much of the noise


def test_post_processing_removes_specks_and_pinholes_but_keeps_the_soft_edge():
    _, truth, _ = composite(160, 160)
    model = truth.copy()
    model[8:11, 8:11] = 1.0  # a speck far from the subject
    model[80, 80] = 0.0  # a pinhole inside it
    cleaned = matting.post_process_mask(model)
    assert cleaned[8:11, 8:11].max() == 0 and cleaned[80, 80] == 1
    edge = (truth > 0.05) & (truth < 0.95)
    np.testing.assert_array_equal(cleaned[edge], model[edge])  # rembg's -ppm would make these 0 or 1
    assert sad(cleaned, truth) < sad(model, truth)


# --------------------------------------------------------------------------------------------------------------
# Never a silent fallback; hostile cases


def test_a_mask_without_confident_foreground_keeps_the_models_alpha_and_says_so():
    photo, _, _ = composite(40, 40)
    probability = np.full((40, 40), 0.5, np.float32)
    result, messages = matting_warnings(lambda: cut_out(photo, probability, alpha_matting=True))
    assert messages == [
        "disc.png: alpha matting skipped: the mask has no confident foreground (no pixel above 240/255 after "
        "eroding by 10); kept the model's alpha."
    ]
    np.testing.assert_array_equal(result[..., 3], np.rint(probability * 255))


def test_a_mask_without_background_says_so():
    photo, truth, _ = composite()
    probability = np.maximum(truth, 0.5).astype(np.float32)
    _, messages = matting_warnings(lambda: matting.estimate_alpha(photo, probability, name="full.jpg"))
    assert len(messages) == 1 and messages[0].startswith(
        "full.jpg: alpha matting skipped: the mask has no confident background"
    )


def test_a_matte_that_cannot_be_solved_warns_and_keeps_the_models_alpha(monkeypatch):
    photo, truth, _ = composite()
    model = unsure_model(truth)
    monkeypatch.setattr(matting, "_CG_MAX_ITERATIONS", 1)  # the solver cannot converge in one step
    alpha, messages = matting_warnings(lambda: matting.estimate_alpha(photo, model, name="hard.png"))
    assert len(messages) == 1
    assert messages[0].startswith("hard.png: alpha matting found no solution in ")
    assert messages[0].endswith("regions of the uncertain band; kept the model's alpha there.")
    np.testing.assert_array_equal(alpha, model)


@pytest.mark.parametrize("size", [(1, 1), (10, 20000), (2, 7)])
@pytest.mark.parametrize(
    "options",
    [{"alpha_matting": True}, {"foreground_colors": "estimate"}, {"post_process_mask": True}],
    ids=["matting", "decontamination", "post-processing"],
)
def test_tiny_and_extreme_images_give_a_result_of_their_size(size, options):
    height, width = size
    photo = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    cols = np.arange(width, dtype=np.float32)
    probability = np.tile(np.clip((width / 2 - cols) / 20 + 0.5, 0, 1), (height, 1)).astype(np.float32)
    result, messages = matting_warnings(lambda: cut_out(photo, probability, name="odd.png", **options))
    assert result.shape == (height, width, 4)
    assert all(message.startswith("odd.png: ") and "\n" not in message for message in messages)
    if width > 100:
        assert messages == []  # a soft step in the middle: nothing that cannot be done
    elif options.get("alpha_matting"):
        assert len(messages) in (1, 2)  # unsure pixels only: nothing to matte against (nor colours to unmix in 1x1)


def test_an_image_with_its_own_alpha_keeps_it_under_the_refined_alpha():
    photo, truth, _ = composite()
    model = unsure_model(truth)
    own = np.full(truth.shape, 128, np.uint8)
    options = RemoveOptions.create(alpha_matting=True)
    matte = np.asarray(compose(photo, model, RemoveOptions.create(alpha_matting=True, mask_only=True)))
    result = np.asarray(compose(photo, model, options, alpha=own))
    np.testing.assert_array_equal(result[..., 3], np.rint(matte.astype(np.float32) * own / 255))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"alpha_matting_foreground_threshold": 256}, "alpha_matting_foreground_threshold is an 8-bit mask level"),
        ({"alpha_matting_background_threshold": -1}, "alpha_matting_background_threshold is an 8-bit mask level"),
        ({"alpha_matting_background_threshold": 2.5}, "alpha_matting_background_threshold is an 8-bit mask level"),
        ({"alpha_matting_erode_size": -3}, "alpha_matting_erode_size is a size in pixels"),
        ({"foreground_colors": "guess"}, "foreground_colors is None"),
        ({"alpha_matting": True, "threshold": 0.5}, "alpha_matting and threshold cannot be combined"),
        ({"foreground_colors": "estimate", "mask_only": True}, "a mask has no colours"),
        ({"foreground_colors": "estimate", "threshold": 0.5}, "a hard threshold leaves no soft edge"),
    ],
)
def test_bad_edge_options_raise_one_line(options, message):
    with pytest.raises(ValueError, match=message) as error:
        RemoveOptions.create(**options)
    assert "\n" not in str(error.value)


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=False)


def test_nothing_on_the_default_path_imports_pymatting_or_numba(tmp_path):
    folder = save_tiny_model(tmp_path / "tiny")
    code = f"""
import sys
import numpy as np
import u2net_hf.background
from u2net_hf.sessions import new_session
photo = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
new_session({str(folder)!r}).remove(photo)
new_session({str(folder)!r}).remove(photo, post_process_mask=True)
print(sorted(name for name in ("pymatting", "numba", "llvmlite") if name in sys.modules))
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_matting_without_pymatting_gives_the_install_command_in_one_line():
    code = """
import sys
sys.modules["pymatting"] = None  # as if it were not installed
from u2net_hf.background import RemoveOptions
try:
    RemoveOptions.create(alpha_matting=True)
except RuntimeError as error:
    print(error)
"""
    result = run_python(code)
    assert result.stdout.strip() == (
        'alpha matting (alpha_matting) needs pymatting: pip install -e ".[matting]" in a clone, or pip install '
        '"u2net-hf[matting] @ git+https://github.com/u2net-hf/u2net-hf" (pip install "u2net-hf[matting]" once on PyPI).'
    )


# --------------------------------------------------------------------------------------------------------------
# Every backend, and the command on a folder


@pytest.fixture(scope="module")
def sessions():
    return {
        "torch": new_session("u2net-lite", backend="torch"),
        "onnxruntime": new_session("u2net-lite", backend="onnxruntime"),
    }


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_edge_options_run_through_sessions_of_every_backend(sessions, backend):
    session = sessions[backend]
    photo, _, _ = composite(120, 160)
    (probability,) = session.predict([photo])
    for options in (
        {"alpha_matting": True, "alpha_matting_erode_size": 4},
        {"foreground_colors": "estimate"},
        {"post_process_mask": True, "bg_color": (255, 255, 255)},
    ):
        expected = compose(photo, probability, RemoveOptions.create(**options))
        result = session.remove(photo, **options)
        np.testing.assert_array_equal(result, np.asarray(expected), err_msg=f"{backend} {options}")
    plain = session.remove(photo)
    matted = session.remove(photo, alpha_matting=True, alpha_matting_erode_size=4)
    assert not np.array_equal(plain[..., 3], matted[..., 3])  # the model is unsure somewhere: the matte differs


def test_the_command_mattes_a_folder_with_rembgs_flags(sessions, tmp_path, capsys):
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    for index, path in enumerate([photos / "a.png", photos / "sub" / "b.jpg"]):
        PIL.Image.fromarray(composite(72, 96, seed=index)[0]).save(path)
    PIL.Image.new("RGB", (30, 30), (128, 128, 128)).save(photos / "flat.png")  # the model is unsure everywhere
    flags = ["-a", "-af", "230", "-ab", "20", "-ae", "3", "-ppm", "-dc", "-q"]
    assert main(["remove", str(photos), str(tmp_path / "out"), "--backend", "onnxruntime", *flags]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert all(line.startswith("u2net-hf remove: warning: ") for line in err)
    session = sessions["onnxruntime"]
    options = {
        "alpha_matting": True,
        "alpha_matting_foreground_threshold": 230,
        "alpha_matting_background_threshold": 20,
        "alpha_matting_erode_size": 3,
        "post_process_mask": True,
        "foreground_colors": "estimate",
    }
    for name in ("a.png", "sub/b.png"):
        source = next(photos.glob(Path(name).stem + ".*")) if "/" not in name else photos / "sub" / "b.jpg"
        written = np.asarray(PIL.Image.open(tmp_path / "out" / name))
        np.testing.assert_array_equal(written, session.remove(PIL.Image.open(source), **options))
    assert (tmp_path / "out" / "flat.png").is_file()


def test_the_command_refuses_bad_matting_flags_in_one_line(tmp_path, capsys):
    path = tmp_path / "photo.png"
    PIL.Image.new("RGB", (8, 8)).save(path)
    with pytest.raises(SystemExit) as exit_info:
        main(["remove", str(path), "-af", "300"])
    assert exit_info.value.code == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(
        "u2net-hf remove: error: argument -af/--alpha-matting-foreground-threshold: expected an 8-bit"
    )
