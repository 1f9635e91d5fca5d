"""Saliency metrics against PySODMetrics (the field's reference implementation, an independent oracle), and
`evaluate` against a hand-written evaluation loop."""

import json
import warnings

import numpy as np
import PIL.Image
import pytest
import torch
from synthetic import write_synthetic_dataset

from u2net_hf import U2NetImageProcessor
from u2net_hf.metrics import METRIC_NAMES, SaliencyMetrics, evaluate, format_metrics_table

py_sod_metrics = pytest.importorskip("py_sod_metrics")


def random_pairs(seed: int, count: int = 10) -> list[tuple[np.ndarray, np.ndarray]]:
    """Noisy predictions of rectangles and ellipses, at assorted sizes (uint8, as saved PNGs)."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(count):
        height, width = rng.integers(24, 90, 2)
        rows, cols = np.mgrid[0:height, 0:width]
        centre_row, centre_col = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
        radius_row, radius_col = rng.uniform(0.1, 0.4) * height, rng.uniform(0.1, 0.4) * width
        target = ((rows - centre_row) / radius_row) ** 2 + ((cols - centre_col) / radius_col) ** 2 <= 1
        quality = rng.uniform(0.2, 0.9)
        prediction = np.clip(quality * target + rng.normal(0.5 * (1 - quality), 0.2, target.shape), 0, 1)
        pairs.append(((prediction * 255).astype(np.uint8), target.astype(np.uint8) * 255))
    return pairs


def edge_case_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, (40, 50), dtype=np.uint8)
    square = np.zeros((40, 50), np.uint8)
    square[10:30, 10:30] = 255
    return [
        (noise, np.zeros((40, 50), np.uint8)),  # no foreground
        (noise, np.full((40, 50), 255, np.uint8)),  # all foreground
        (np.full((40, 50), 9, np.uint8), square),  # constant prediction
        (square, square),  # perfect
        (255 - square, square),  # inverted
    ]


def oracle_results(pairs, normalize: bool = True) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Fmeasure's deprecation notice
        evaluators = {
            "mae": py_sod_metrics.MAE(),
            "fm": py_sod_metrics.Fmeasure(beta=0.3),
            "sm": py_sod_metrics.Smeasure(),
            "em": py_sod_metrics.Emeasure(),
            "wfm": py_sod_metrics.WeightedFmeasure(),
        }
    for prediction, target in pairs:
        for evaluator in evaluators.values():
            evaluator.step(prediction, target, normalize=normalize)
    results = {name: evaluator.get_results() for name, evaluator in evaluators.items()}
    return {
        "mae": results["mae"]["mae"],
        "max_fmeasure": results["fm"]["fm"]["curve"].max(),
        "mean_fmeasure": results["fm"]["fm"]["curve"].mean(),
        "adaptive_fmeasure": results["fm"]["fm"]["adp"],
        "smeasure": results["sm"]["sm"],
        "max_emeasure": results["em"]["em"]["curve"].max(),
        "mean_emeasure": results["em"]["em"]["curve"].mean(),
        "adaptive_emeasure": results["em"]["em"]["adp"],
        "weighted_fmeasure": results["wfm"]["wfm"],
    }


def our_results(pairs, normalize: bool = True) -> dict[str, float]:
    metrics = SaliencyMetrics(normalize=normalize)
    for prediction, target in pairs:
        metrics.update(prediction, target)
    return metrics.compute()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_pysodmetrics(seed):
    pairs = random_pairs(seed)
    expected, actual = oracle_results(pairs), our_results(pairs)
    assert actual.keys() == expected.keys() == METRIC_NAMES.keys()
    for name in expected:
        assert abs(actual[name] - expected[name]) < 1e-6, name


@pytest.mark.parametrize("index", range(5))
def test_metrics_match_pysodmetrics_on_edge_cases(index):
    pair = edge_case_pairs()[index]
    expected, actual = oracle_results([pair]), our_results([pair])
    for name in expected:
        assert abs(actual[name] - expected[name]) < 1e-6, name


def test_metrics_match_pysodmetrics_without_normalization():
    # normalize=False: float predictions used as they are (no 8-bit rounding, no min-max) and boolean targets.
    rng = np.random.default_rng(3)
    pairs = [
        (rng.uniform(0.1, 0.8, target.shape) * (0.5 + 0.5 * (target > 0)), target > 128)
        for _, target in random_pairs(4, count=6)
    ]
    expected, actual = oracle_results(pairs, normalize=False), our_results(pairs, normalize=False)
    for name in expected:
        assert abs(actual[name] - expected[name]) < 1e-6, name


def test_float_maps_are_scored_as_their_8_bit_pngs():
    rng = np.random.default_rng(5)
    target = np.zeros((30, 40), dtype=np.float32)
    target[5:20, 8:30] = 1.0
    prediction = np.clip(target * 0.6 + rng.uniform(0, 0.4, target.shape), 0, 1).astype(np.float32)
    as_png = np.round(prediction * 255).astype(np.uint8), (target * 255).astype(np.uint8)
    assert our_results([(prediction, target)]) == our_results([as_png])
    assert our_results([(torch.from_numpy(prediction), torch.from_numpy(target > 0.5))]) == our_results([as_png])


def test_perfect_prediction_scores_perfectly():
    target = np.zeros((32, 32), dtype=np.uint8)
    target[8:24, 4:20] = 255
    results = our_results([(target, target)])
    assert results["mae"] == 0
    for name in ("max_fmeasure", "adaptive_fmeasure", "smeasure", "weighted_fmeasure"):
        assert results[name] == pytest.approx(1, abs=1e-6), name
    # The E-measure divides by (pixels - 1), as the reference MATLAB code does, so a perfect map scores just above 1.
    assert results["max_emeasure"] == pytest.approx(target.size / (target.size - 1), abs=1e-9)


def test_bad_metric_inputs_fail_clearly():
    metrics = SaliencyMetrics()
    with pytest.raises(ValueError, match="No images"):
        metrics.compute()
    with pytest.raises(ValueError, match="resize the prediction"):
        metrics.update(np.zeros((10, 12)), np.zeros((12, 10)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.update(np.full((4, 4), 2.0), np.zeros((4, 4), np.uint8))
    assert len(metrics) == 0


def test_format_metrics_table_lists_every_metric():
    results = our_results(random_pairs(0, count=2))
    table = format_metrics_table({**results, "num_images": 2})
    for name in METRIC_NAMES.values():
        assert name in table
    assert f"{results['mae']:.4f}" in table and "num_images" in table


def test_evaluate_scores_predictions_at_the_ground_truth_resolution(tiny_model, tmp_path):
    # A mask stored at a different size than its image: the prediction is resized to the mask, not the reverse.
    data = write_synthetic_dataset(tmp_path / "data", 5, size=(48, 56))
    PIL.Image.open(data / "masks" / "0001.png").resize((40, 30), PIL.Image.NEAREST).save(data / "masks" / "0001.png")
    processor = U2NetImageProcessor(size={"height": 64, "width": 64})

    results = evaluate(tiny_model, data, image_processor=processor, batch_size=2, progress=False)

    expected = SaliencyMetrics()
    for stem in ["0000", "0001", "0002", "0003", "0004"]:
        image = PIL.Image.open(data / "images" / f"{stem}.png")
        target = np.asarray(PIL.Image.open(data / "masks" / f"{stem}.png"))
        with torch.no_grad():
            outputs = tiny_model(**processor(image, return_tensors="pt"))
        expected.update(processor.post_process_saliency(outputs, target_sizes=[target.shape])[0].numpy(), target)
    assert results["num_images"] == 5 and results["skipped"] == 0
    for name, value in expected.compute().items():
        assert results[name] == pytest.approx(value, abs=1e-9), name
    assert results["loss"] > 0
    json.dumps(results)  # plain Python numbers, ready for --json


def test_evaluate_skips_and_counts_unreadable_files(tiny_model, tmp_path):
    data = write_synthetic_dataset(tmp_path / "data", 4, size=40)
    (data / "images" / "0002.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    processor = U2NetImageProcessor(size={"height": 48, "width": 48})
    results = evaluate(tiny_model, data, image_processor=processor, progress=False)
    assert results["skipped"] == 1
    assert results["num_images"] == 3  # left out, not replaced by a neighbour that would count twice
