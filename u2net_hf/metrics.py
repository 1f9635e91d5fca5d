# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
Salient object detection metrics, computed as the field computes them, and [`evaluate`], which runs a model over a
data set and reports them.

The definitions are those of PySODMetrics (`pip install pysodmetrics`), the reference implementation that saliency
papers report with, itself a port of the MATLAB evaluation toolboxes; the test suite checks this implementation
against it to 1e-6. This one is vectorised (the F-measure and E-measure curves come from one shared histogram,
the weighted F-measure's Gaussian filter is separable) and needs only numpy, plus scipy for the weighted F-measure.

| key | metric |
| --- | --- |
| `mae` | mean absolute error (Perazzi et al., 2012) |
| `max_fmeasure`, `mean_fmeasure` | maximum and mean of the F-measure (beta^2 = 0.3) over the 256 thresholds, of the curve averaged over images (Achanta et al., 2009) |
| `adaptive_fmeasure` | F-measure at each image's adaptive threshold, twice its mean prediction |
| `smeasure` | structure measure, alpha = 0.5 (Fan et al., 2017) |
| `max_emeasure`, `mean_emeasure`, `adaptive_emeasure` | enhanced-alignment measure, likewise (Fan et al., 2018) |
| `weighted_fmeasure` | weighted F-measure, beta = 1 (Margolin et al., 2014) |
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from .data import SaliencyDataset, load_saliency_eval_dataset
from .extras import install_hint
from .image_processing_u2net import U2NetImageProcessor

logger = logging.getLogger(__name__)

# MATLAB's eps, which the reference implementations add to denominators.
EPS = np.spacing(1)
NUM_THRESHOLDS = 256
METRIC_NAMES = {
    "mae": "MAE",
    "max_fmeasure": "maxF",
    "mean_fmeasure": "meanF",
    "adaptive_fmeasure": "adpF",
    "smeasure": "S-measure",
    "max_emeasure": "maxE",
    "mean_emeasure": "meanE",
    "adaptive_emeasure": "adpE",
    "weighted_fmeasure": "wF",
}


class SaliencyMetrics:
    """
    Accumulates the saliency metrics over images, one [`update`] per image, and reports their data set averages.

    With `normalize=True` (the field's protocol, as when evaluating prediction PNGs against ground-truth PNGs):
    both maps are taken at 8 bits, float maps in [0, 1] being rounded to 0-255 as when saved to PNG; the prediction
    is then divided by 255 and min-max normalized per image, and the ground truth is binarised at > 128. With
    `normalize=False` the prediction (float in [0, 1]) and the ground truth (boolean) are used as given.

    Args:
        beta_squared (`float`, *optional*, defaults to 0.3):
            The beta^2 of the F-measures (the weighted F-measure keeps its own beta = 1).
        normalize (`bool`, *optional*, defaults to `True`):
            See above.

    Example:

    ```python
    >>> import numpy as np
    >>> from u2net_hf.metrics import SaliencyMetrics

    >>> metrics = SaliencyMetrics()
    >>> target = np.zeros((64, 64), dtype=np.uint8)
    >>> target[16:48, 16:48] = 255
    >>> metrics.update(target.astype(np.float32) / 255, target)
    >>> round(metrics.compute()["mae"], 6)
    0.0
    ```
    """

    def __init__(self, beta_squared: float = 0.3, normalize: bool = True):
        self.beta_squared = beta_squared
        self.normalize = normalize
        self.reset()

    def reset(self) -> None:
        self._scores: dict[str, list[float]] = {
            name: [] for name in ("mae", "adaptive_fmeasure", "smeasure", "adaptive_emeasure", "weighted_fmeasure")
        }
        self._fmeasure_curves = np.zeros(NUM_THRESHOLDS)
        self._emeasure_curves = np.zeros(NUM_THRESHOLDS)
        self.num_images = 0

    def __len__(self) -> int:
        return self.num_images

    def update(self, prediction, target) -> None:
        """
        Add one image.

        Args:
            prediction (`np.ndarray`, `torch.Tensor` or `PIL.Image.Image`):
                The predicted saliency map, `(height, width)`: float in [0, 1], or uint8 0-255.
            target (`np.ndarray`, `torch.Tensor` or `PIL.Image.Image`):
                The ground-truth mask at its native resolution, same size: boolean, float in [0, 1] or uint8.
        """
        prediction, target = prepare_pair(prediction, target, normalize=self.normalize)
        scores = image_scores(prediction, target, beta_squared=self.beta_squared)
        for name, values in self._scores.items():
            values.append(scores[name])
        self._fmeasure_curves += scores["fmeasure_curve"]
        self._emeasure_curves += scores["emeasure_curve"]
        self.num_images += 1

    def compute(self) -> dict[str, float]:
        """The metrics averaged over the images added so far, keyed as in [`METRIC_NAMES`]."""
        if self.num_images == 0:
            raise ValueError("No images were added: call update(prediction, target) first.")
        fmeasure = self._fmeasure_curves / self.num_images
        emeasure = self._emeasure_curves / self.num_images
        means = {name: float(np.mean(values)) for name, values in self._scores.items()}
        return {
            "mae": means["mae"],
            "max_fmeasure": float(fmeasure.max()),
            "mean_fmeasure": float(fmeasure.mean()),
            "adaptive_fmeasure": means["adaptive_fmeasure"],
            "smeasure": means["smeasure"],
            "max_emeasure": float(emeasure.max()),
            "mean_emeasure": float(emeasure.mean()),
            "adaptive_emeasure": means["adaptive_emeasure"],
            "weighted_fmeasure": means["weighted_fmeasure"],
        }


def prepare_pair(prediction, target, normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A prediction and a ground truth as the metrics take them: float64 in [0, 1] and boolean (see
    [`SaliencyMetrics`] for `normalize`)."""
    prediction, target = _as_2d_array(prediction, "prediction"), _as_2d_array(target, "ground truth")
    if prediction.shape != target.shape:
        raise ValueError(
            f"The prediction is {prediction.shape[1]}x{prediction.shape[0]} but the ground truth is "
            f"{target.shape[1]}x{target.shape[0]}: resize the prediction to the ground truth's size first."
        )
    if not normalize:
        if not np.issubdtype(prediction.dtype, np.floating) or prediction.min() < 0 or prediction.max() > 1:
            raise ValueError("With normalize=False the prediction must be a float map in [0, 1].")
        return prediction.astype(np.float64), target if target.dtype == bool else target > 0.5
    prediction = _to_uint8(prediction, "prediction") / 255
    low, high = prediction.min(), prediction.max()
    if high != low:
        prediction = (prediction - low) / (high - low)
    return prediction, _to_uint8(target, "ground truth") > 128


def _as_2d_array(value, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().float().numpy() if value.dtype == torch.bfloat16 else value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.ndim == 3 and 1 in (array.shape[0], array.shape[-1]):
        array = array.reshape(array.shape[1:] if array.shape[0] == 1 else array.shape[:-1])
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"The {what} must be a non-empty (height, width) map, got shape {array.shape}.")
    return array


def _to_uint8(array: np.ndarray, what: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    array = array.astype(np.float64)
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise ValueError(f"A float {what} must lie in [0, 1] (or be given as uint8 0-255).")
    return np.round(array * 255).astype(np.uint8)


def image_scores(prediction: np.ndarray, target: np.ndarray, beta_squared: float = 0.3) -> dict:
    """
    Every metric of one image, from a prediction in [0, 1] (float64) and a boolean ground truth of the same size.

    Returns:
        `dict` with the scalar scores `mae`, `adaptive_fmeasure`, `smeasure`, `adaptive_emeasure`,
        `weighted_fmeasure`, and the 256-point `fmeasure_curve` and `emeasure_curve` (index i: threshold 255 - i).
    """
    foreground = int(np.count_nonzero(target))
    # One histogram of the 8-bit prediction per ground-truth class gives, for every threshold t at once, the
    # foreground and background pixel counts predicted >= t.
    levels = (prediction * 255).astype(np.uint8).ravel().astype(np.intp) + NUM_THRESHOLDS * target.ravel()
    histogram = np.bincount(levels, minlength=2 * NUM_THRESHOLDS)
    true_positives = np.cumsum(histogram[NUM_THRESHOLDS:][::-1])
    false_positives = np.cumsum(histogram[:NUM_THRESHOLDS][::-1])

    adaptive = prediction >= min(2 * prediction.mean(), 1)
    adaptive_tp = int(np.count_nonzero(adaptive & target))
    adaptive_fp = int(np.count_nonzero(adaptive)) - adaptive_tp

    return {
        "mae": float(np.mean(np.abs(prediction - target))),
        "fmeasure_curve": _fmeasure(true_positives, false_positives, foreground, beta_squared),
        "adaptive_fmeasure": _adaptive_fmeasure(adaptive_tp, adaptive_fp, foreground, beta_squared),
        "emeasure_curve": _emeasure(true_positives, false_positives, foreground, target.size),
        "adaptive_emeasure": float(_emeasure(adaptive_tp, adaptive_fp, foreground, target.size)),
        "smeasure": smeasure(prediction, target),
        "weighted_fmeasure": weighted_fmeasure(prediction, target),
    }


def _fmeasure(true_positives, false_positives, foreground: int, beta_squared: float) -> np.ndarray:
    predicted = true_positives + false_positives
    precision = true_positives / np.where(predicted == 0, 1, predicted)
    recall = true_positives / max(foreground, 1)
    numerator = (1 + beta_squared) * precision * recall
    return numerator / np.where(numerator == 0, 1, beta_squared * precision + recall)


def _adaptive_fmeasure(true_positives: int, false_positives: int, foreground: int, beta_squared: float) -> float:
    if true_positives == 0:
        return 0.0
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / foreground
    return (1 + beta_squared) * precision * recall / (beta_squared * precision + recall)


def _emeasure(true_positives, false_positives, foreground: int, size: int):
    """Enhanced-alignment measure from the confusion counts, for one threshold or an array of them: the enhanced
    alignment matrix takes one value on each of the four (prediction, ground truth) regions."""
    predicted_foreground = true_positives + false_positives
    predicted_background = size - predicted_foreground
    if foreground == 0:
        enhanced_sum = predicted_background
    elif foreground == size:
        enhanced_sum = predicted_foreground
    else:
        false_negatives = foreground - true_positives
        true_negatives = predicted_background - false_negatives
        mean_prediction, mean_target = predicted_foreground / size, foreground / size
        regions = (
            (true_positives, 1 - mean_prediction, 1 - mean_target),
            (false_positives, 1 - mean_prediction, -mean_target),
            (false_negatives, -mean_prediction, 1 - mean_target),
            (true_negatives, -mean_prediction, -mean_target),
        )
        enhanced_sum = 0
        for count, prediction_value, target_value in regions:
            alignment = 2 * prediction_value * target_value / (prediction_value**2 + target_value**2 + EPS)
            enhanced_sum = enhanced_sum + (alignment + 1) ** 2 / 4 * count
    return enhanced_sum / (size - 1 + EPS)


def smeasure(prediction: np.ndarray, target: np.ndarray, alpha: float = 0.5) -> float:
    """
    Structure measure (Fan et al., ICCV 2017): `alpha` x object-aware + (1 - alpha) x region-aware similarity.

    One deliberate difference from the reference: when the foreground's centroid falls on the last row or column,
    the empty quadrants count 0 here, where the reference returns NaN.
    """
    foreground_share = target.mean()
    if foreground_share == 0:
        return float(1 - prediction.mean())
    if foreground_share == 1:
        return float(prediction.mean())
    object_score = _object_similarity(prediction[target]) * foreground_share + _object_similarity(
        1 - prediction[~target]
    ) * (1 - foreground_share)
    return float(max(0.0, alpha * object_score + (1 - alpha) * _region_similarity(prediction, target)))


def _object_similarity(values: np.ndarray) -> float:
    mean = values.mean()
    deviation = values.std(ddof=1) if values.size > 1 else 0
    return 2 * mean / (mean**2 + 1 + deviation + EPS)


def _region_similarity(prediction: np.ndarray, target: np.ndarray) -> float:
    height, width = target.shape
    rows, cols = np.nonzero(target)
    # The +1 reproduces MATLAB's inclusive 1-based ranges, as the reference does.
    row, col = int(np.round(rows.mean())) + 1, int(np.round(cols.mean())) + 1
    score = 0.0
    for row_range, col_range in (
        (slice(0, row), slice(0, col)),
        (slice(0, row), slice(col, width)),
        (slice(row, height), slice(0, col)),
        (slice(row, height), slice(col, width)),
    ):
        block_prediction, block_target = prediction[row_range, col_range], target[row_range, col_range]
        if block_target.size:
            score += _ssim(block_prediction, block_target) * block_target.size / target.size
    return score


def _ssim(prediction: np.ndarray, target: np.ndarray) -> float:
    count = prediction.size
    mean_prediction, mean_target = prediction.mean(), target.mean()
    centred_prediction, centred_target = prediction - mean_prediction, target - mean_target
    variance_prediction = np.sum(centred_prediction**2) / (count - 1 + EPS)
    variance_target = np.sum(centred_target**2) / (count - 1 + EPS)
    covariance = np.sum(centred_prediction * centred_target) / (count - 1 + EPS)
    alpha = 4 * mean_prediction * mean_target * covariance
    beta = (mean_prediction**2 + mean_target**2) * (variance_prediction + variance_target)
    if alpha != 0:
        return alpha / (beta + EPS)
    return 1.0 if beta == 0 else 0.0


def weighted_fmeasure(prediction: np.ndarray, target: np.ndarray, beta_squared: float = 1.0) -> float:
    """Weighted F-measure (Margolin et al., CVPR 2014): errors weighted by their dependency on neighbouring errors
    and by their distance to the foreground."""
    if not target.any():
        return 0.0
    try:
        from scipy import ndimage
    except ImportError as error:
        raise ImportError(f"The weighted F-measure needs scipy: {install_hint('metrics')}.") from error
    distance, (nearest_rows, nearest_cols) = ndimage.distance_transform_edt(~target, return_indices=True)
    error = np.abs(prediction - target)
    # Each background pixel takes the error of its nearest foreground pixel (foreground pixels are their own).
    nearest_error = error[nearest_rows, nearest_cols]
    kernel = _gaussian_kernel_1d(7, sigma=5)
    smoothed = ndimage.correlate1d(nearest_error, kernel, axis=0, mode="constant")
    smoothed = ndimage.correlate1d(smoothed, kernel, axis=1, mode="constant")
    dependent_error = np.where(target & (smoothed < error), smoothed, error)
    importance = np.where(target, 1.0, 2 - np.exp(np.log(0.5) / 5 * distance))
    weighted_error = dependent_error * importance
    true_positive = target.sum() - weighted_error[target].sum()
    false_positive = weighted_error[~target].sum()
    recall = 1 - weighted_error[target].mean()
    precision = true_positive / (true_positive + false_positive + EPS)
    return float((1 + beta_squared) * recall * precision / (recall + beta_squared * precision + EPS))


def _gaussian_kernel_1d(size: int, sigma: float) -> np.ndarray:
    # MATLAB's fspecial('gaussian', [size size], sigma) is the outer product of this kernel with itself.
    offsets = np.arange(size) - (size - 1) / 2
    kernel = np.exp(-(offsets**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def evaluate(
    model="u2net-lite",
    data=None,
    *,
    split: str | None = None,
    image_column: str | None = None,
    mask_column: str | None = None,
    image_processor: U2NetImageProcessor | None = None,
    image_size: int | None = None,
    batch_size: int = 8,
    device: str | torch.device | None = None,
    num_workers: int = 0,
    progress: bool = True,
) -> dict[str, float]:
    """
    Run a model over a saliency data set and compute the saliency metrics at each ground truth's native resolution.

    Each image goes through the model's image processor (resized to its input size) and the predicted probability
    map is resized back to its mask's size (bilinear) before scoring, as a user of the model would get it.

    Args:
        model (`str`, `os.PathLike` or [`U2NetForImageSegmentation`], *optional*, defaults to `"u2net-lite"`):
            A model spec as accepted by [`~u2net_hf.pretrained.load_model`] (bundled name, folder, Hub repo id) or
            a model object.
        data:
            A data set as accepted by [`~u2net_hf.data.load_saliency_dataset`]: a DUTS-style or `images/` +
            `masks/` folder, a Hub data set id, or a `datasets.Dataset`.
        split (`str`, *optional*):
            Split of a Hugging Face data set.
        image_column (`str`, *optional*):
            Image column of a Hugging Face data set.
        mask_column (`str`, *optional*):
            Mask column of a Hugging Face data set.
        image_processor ([`U2NetImageProcessor`], *optional*):
            Defaults to the processor saved with the model.
        image_size (`int`, *optional*):
            Side of the model input; defaults to the processor's size (320).
        batch_size (`int`, *optional*, defaults to 8):
            Images per forward pass.
        device (`str` or `torch.device`, *optional*):
            Where to run the model; defaults to a model object's own device, else the first GPU if there is one,
            else the CPU.
        num_workers (`int`, *optional*, defaults to 0):
            Data loading worker processes.
        progress (`bool`, *optional*, defaults to `True`):
            Show a progress bar.

    Returns:
        `dict`: the metrics of [`SaliencyMetrics`], plus `loss` (the model's training loss at the input size),
        `num_images` (images scored) and `skipped` (unreadable samples skipped).

    Example:

    ```python
    >>> from u2net_hf.metrics import evaluate
    >>> evaluate("u2net-lite", "DUTS-TE")  # doctest: +SKIP
    {'mae': 0.074, 'max_fmeasure': 0.84, ...}
    ```
    """
    from .devices import resolve_device
    from .pretrained import load_image_processor, load_model

    if data is None:
        raise ValueError("evaluate() needs data: a data set folder, a Hub data set id or a datasets.Dataset.")
    processor = image_processor or load_image_processor(model, warn_if_missing=True)
    model = load_model(model, device=resolve_device(device, model))
    dataset = load_saliency_eval_dataset(
        data, processor, image_size, split=split, image_column=image_column, mask_column=mask_column
    )
    return evaluate_dataset(
        model, dataset, processor, batch_size=batch_size, num_workers=num_workers, progress=progress
    )


@torch.no_grad()
def evaluate_dataset(
    model,
    dataset: SaliencyDataset,
    image_processor: U2NetImageProcessor,
    *,
    batch_size: int = 8,
    num_workers: int = 0,
    progress: bool = True,
) -> dict[str, float]:
    """[`evaluate`] on a [`SaliencyDataset`] whose transform is a [`~u2net_hf.data.SaliencyEvalTransform`] (and
    `replace_unreadable=False`, so that unreadable samples are left out rather than replaced), on the model's device. The model is put in eval mode for the run and back in its former mode afterwards."""
    from tqdm.auto import tqdm

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, num_workers=num_workers, collate_fn=collate_eval_batch
    )
    metrics = SaliencyMetrics()
    total_loss = 0.0
    try:
        for batch in tqdm(loader, desc="Evaluating", disable=not progress, unit="batch"):
            if batch is None:
                continue
            outputs = model(batch["pixel_values"].to(device), labels=batch["labels"].to(device))
            total_loss += float(outputs.loss) * len(batch["targets"])
            sizes = [tuple(target.shape) for target in batch["targets"]]
            for probability, target in zip(
                image_processor.post_process_saliency(outputs, target_sizes=sizes), batch["targets"], strict=True
            ):
                metrics.update(probability.numpy(), target.numpy())
    finally:
        model.train(was_training)
    if len(metrics) == 0:
        raise RuntimeError(f"None of the {len(dataset)} samples of {dataset.name or 'the data set'} could be read.")
    results = metrics.compute()
    results.update(loss=total_loss / len(metrics), num_images=len(metrics), skipped=len(dataset.skipped))
    return results


def collate_eval_batch(items: list[dict | None]) -> dict | None:
    """Stack the model inputs and labels; keep the native-size targets as a list (their sizes differ). Unreadable
    samples (`None`) are left out; a batch of only those is `None`."""
    items = [item for item in items if item is not None]
    if not items:
        return None
    return {
        "pixel_values": torch.stack([item["pixel_values"] for item in items]),
        "labels": torch.stack([item["labels"] for item in items]),
        "targets": [item["target"] for item in items],
    }


def format_metrics_table(metrics: dict[str, float]) -> str:
    """The metrics as a two-column text table, in the order of [`METRIC_NAMES`], then any other entries."""
    rows = [(METRIC_NAMES.get(key, key), value) for key, value in metrics.items() if key in METRIC_NAMES]
    rows.sort(key=lambda row: list(METRIC_NAMES.values()).index(row[0]))
    rows += [(key, value) for key, value in metrics.items() if key not in METRIC_NAMES]
    width = max(len(name) for name, _ in rows)
    lines = [f"{'metric':<{width}}  value", f"{'-' * width}  ------"]
    for name, value in rows:
        text = f"{value:.4f}" if isinstance(value, float) else str(value)
        lines.append(f"{name:<{width}}  {text}")
    return "\n".join(lines)


__all__ = [
    "METRIC_NAMES",
    "SaliencyMetrics",
    "evaluate",
    "evaluate_dataset",
    "format_metrics_table",
    "image_scores",
    "smeasure",
    "weighted_fmeasure",
]
