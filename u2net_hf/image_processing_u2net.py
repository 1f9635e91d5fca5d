# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Image processor for U2-Net: any image in, normalized `pixel_values` out; logits in, masks out.

The arithmetic lives in `image_transforms_u2net.py` (numpy and Pillow only), which sessions on onnxruntime run
without transformers; this file gives it transformers' processor API."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Sequence

import numpy as np
import torch
from transformers.image_processing_utils import BaseImageProcessor, BatchFeature
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, PILImageResampling

from .image_transforms_u2net import U2NetTransforms
from .image_transforms_u2net import to_rgb_array as _to_rgb_array
from .logging_u2net import quiet_routine_messages

# Before transformers loads this processor as remote code on its own: see `logging_u2net.py`.
quiet_routine_messages()


class U2NetImageProcessor(BaseImageProcessor):
    r"""
    Constructs a U2-Net image processor: converts any image to RGB, resizes it to a fixed size
    (aspect ratio ignored, as U2-Net was trained), rescales and normalizes it; and turns the model's
    logits back into masks at each image's original size.

    Args:
        do_resize (`bool`, *optional*, defaults to `True`):
            Whether to resize the image to `size`.
        size (`dict[str, int]`, *optional*, defaults to `{"height": 320, "width": 320}`):
            Size of the model input.
        resample (`PILImageResampling`, *optional*, defaults to `PILImageResampling.LANCZOS`):
            Filter used to resize the image (LANCZOS, as rembg and the upstream demo do).
        do_rescale (`bool`, *optional*, defaults to `True`):
            Whether to rescale pixel values to [0, 1].
        rescale_factor (`float`, *optional*, defaults to `1/255`):
            Factor applied to pixel values (on the 0-255 scale) when `do_rescale` and not `rescale_by_max`.
        rescale_by_max (`bool`, *optional*, defaults to `True`):
            Divide each image by its own maximum pixel value instead of multiplying by `rescale_factor`, as the
            upstream U-2-Net training code and rembg do. The published weights were trained this way: on the
            real photos of our tests, masks of under-exposed images stay within about 1 grey level of the
            well-exposed ones with it, and move by 10-13 levels on average with the plain 1/255 rescale (see
            docs/converting.md).
        do_normalize (`bool`, *optional*, defaults to `True`):
            Whether to normalize with `image_mean` and `image_std`.
        image_mean (`list[float]`, *optional*, defaults to the ImageNet mean):
            Per-channel mean.
        image_std (`list[float]`, *optional*, defaults to the ImageNet standard deviation):
            Per-channel standard deviation.

    Example:

    ```python
    >>> from PIL import Image
    >>> from u2net_hf import U2NetImageProcessor

    >>> processor = U2NetImageProcessor()
    >>> inputs = processor(Image.new("RGB", (640, 480)), return_tensors="pt")
    >>> inputs["pixel_values"].shape
    torch.Size([1, 3, 320, 320])
    ```
    """

    model_input_names = ["pixel_values"]

    def __init__(
        self,
        do_resize: bool = True,
        size: dict[str, int] | None = None,
        resample: PILImageResampling = PILImageResampling.LANCZOS,
        do_rescale: bool = True,
        rescale_factor: float = 1 / 255,
        rescale_by_max: bool = True,
        do_normalize: bool = True,
        image_mean: Sequence[float] | None = None,
        image_std: Sequence[float] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.do_resize = do_resize
        self.size = dict(size) if size is not None else {"height": 320, "width": 320}
        self.resample = resample
        self.do_rescale = do_rescale
        self.rescale_factor = rescale_factor
        self.rescale_by_max = rescale_by_max
        self.do_normalize = do_normalize
        self.image_mean = list(image_mean) if image_mean is not None else list(IMAGENET_DEFAULT_MEAN)
        self.image_std = list(image_std) if image_std is not None else list(IMAGENET_DEFAULT_STD)

    def preprocess(
        self,
        images,
        do_resize: bool | None = None,
        size: dict[str, int] | None = None,
        resample: PILImageResampling | None = None,
        do_rescale: bool | None = None,
        rescale_factor: float | None = None,
        rescale_by_max: bool | None = None,
        do_normalize: bool | None = None,
        image_mean: Sequence[float] | None = None,
        image_std: Sequence[float] | None = None,
        return_tensors: str | None = "pt",
        **kwargs,
    ) -> BatchFeature:
        """
        Preprocess an image or a batch of images.

        Args:
            images (`PIL.Image.Image`, `np.ndarray`, `torch.Tensor` or a list of them):
                Images of any size and mode (RGB, RGBA, L, LA, P, CMYK, 1, 16-bit...). Arrays are
                `(height, width)` or `(height, width, channels)`; tensors `(channels, height, width)`. Float
                arrays in [0, 1] are taken as already scaled. EXIF orientation is applied; alpha is dropped.
            return_tensors (`str`, *optional*, defaults to `"pt"`):
                `"pt"` for a torch tensor, `"np"` for a numpy array.

        The other arguments override the processor's attributes for this call.

        Returns:
            [`BatchFeature`] with `pixel_values` of shape `(batch_size, 3, height, width)`.
        """
        transforms = U2NetTransforms.from_dict(
            {
                "do_resize": self.do_resize if do_resize is None else do_resize,
                "size": self.size if size is None else size,
                "resample": self.resample if resample is None else resample,
                "do_rescale": self.do_rescale if do_rescale is None else do_rescale,
                "rescale_factor": self.rescale_factor if rescale_factor is None else rescale_factor,
                "rescale_by_max": self.rescale_by_max if rescale_by_max is None else rescale_by_max,
                "do_normalize": self.do_normalize if do_normalize is None else do_normalize,
                "image_mean": self.image_mean if image_mean is None else image_mean,
                "image_std": self.image_std if image_std is None else image_std,
            }
        )
        arrays = [
            transforms.preprocess(_numpy_if_tensor(image), index) for index, image in enumerate(_as_list(images))
        ]
        if len({a.shape for a in arrays}) > 1 and return_tensors is not None:
            raise ValueError(
                "Images of different sizes cannot be batched without resizing; keep do_resize=True or pass "
                "return_tensors=None to get a list."
            )
        pixel_values = arrays if return_tensors is None else np.stack(arrays)
        return BatchFeature(data={"pixel_values": pixel_values}, tensor_type=return_tensors)

    def post_process_saliency(
        self,
        outputs,
        target_sizes: Sequence[tuple[int, int]] | None = None,
        min_max_normalize: bool = False,
        resample: PILImageResampling = PILImageResampling.BILINEAR,
    ) -> list[torch.Tensor]:
        """
        Turn the fused logits into soft foreground masks (alpha mattes), one per image.

        Args:
            outputs ([`U2NetSegmentationOutput`] or `dict`):
                Model outputs holding `logits` of shape `(batch_size, 1, height, width)`.
            target_sizes (`list[tuple[int, int]]`, *optional*):
                `(height, width)` of each original image; masks stay at the logits' size when omitted.
            min_max_normalize (`bool`, *optional*, defaults to `False`):
                Stretch each probability map to span [0, 1] exactly, as the upstream U-2-Net code and rembg
                do. Makes the weakest pixel transparent and the strongest opaque even on images without a
                clear subject.
            resample (`PILImageResampling`, *optional*, defaults to `PILImageResampling.BILINEAR`):
                Filter used to resize the masks to `target_sizes` (rembg uses LANCZOS).

        Returns:
            `list[torch.Tensor]`: float32 masks of shape `(height, width)` with values in [0, 1].
        """
        logits = _logits(outputs).detach().float().cpu().numpy()
        masks = U2NetTransforms.masks(logits, target_sizes, min_max_normalize=min_max_normalize, resample=resample)
        return [torch.from_numpy(mask) for mask in masks]

    def post_process_semantic_segmentation(
        self, outputs, target_sizes: Sequence[tuple[int, int]] | None = None, threshold: float = 0.5
    ) -> list[torch.Tensor]:
        """
        Turn the fused logits into label maps: 1 (foreground) where the foreground probability exceeds
        `threshold`, else 0 (background).

        Args:
            outputs ([`U2NetSegmentationOutput`] or `dict`):
                Model outputs holding `logits`.
            target_sizes (`list[tuple[int, int]]`, *optional*):
                `(height, width)` of each original image; maps stay at the logits' size when omitted.
            threshold (`float`, *optional*, defaults to 0.5):
                Foreground probability above which a pixel is foreground.

        Returns:
            `list[torch.LongTensor]`: one `(height, width)` map per image.
        """
        return [(mask > threshold).long() for mask in self.post_process_saliency(outputs, target_sizes)]

    def post_process_instance_segmentation(
        self,
        outputs,
        threshold: float = 0.5,
        mask_threshold: float = 0.5,
        target_sizes: Sequence[tuple[int, int]] | None = None,
        **kwargs,
    ) -> list[dict]:
        """
        Report the foreground as one segment per image, with a score: what `pipeline("image-segmentation")`
        calls, so that it returns `[{"label": "foreground", "score": ..., "mask": ...}]`.

        The segment is every pixel whose foreground probability exceeds `mask_threshold`; it is reported whenever
        there is such a pixel, and `[]` means the model sees no foreground at all. Its score is the segment's
        **peak foreground probability**: how sure the model is, at its most certain pixel, that the image holds a
        subject at all (a detector's confidence, not the sharpness of the outline). On the five scikit-image photos
        (astronaut, chelsea, coffee, rocket, motorcycle) the bundled u2net-lite scores 0.9989 to 1.0; a faint
        subject scores lower (scikit-image's `moon`: 0.78).

        `threshold` filters by that score when you choose it. The pipeline passes its own default (0.9, made for
        detectors that propose many candidates) when its caller gives none; that default is not applied, because a
        salient-object model proposes one segment, and dropping it would leave a user's `result[0]["mask"]` with
        nothing: `pipeline(...)(image)` always gives the foreground, `pipeline(...)(image, threshold=0.9)` only a
        foreground scoring at least 0.9.

        Args:
            outputs ([`U2NetSegmentationOutput`] or `dict`):
                Model outputs holding `logits`.
            threshold (`float`, *optional*, defaults to 0.5):
                Minimum score (peak foreground probability) for the segment to be reported; the image-segmentation
                pipeline's own default is not applied (see above).
            mask_threshold (`float`, *optional*, defaults to 0.5):
                Foreground probability above which a pixel belongs to the segment.
            target_sizes (`list[tuple[int, int]]`, *optional*):
                `(height, width)` of each original image.

        Returns:
            `list[dict]`: per image, `{"segmentation": LongTensor (height, width), "segments_info": [...]}`, where
            the segmentation holds 1 on the foreground and 0 elsewhere, and `segments_info` holds
            `{"id": 1, "label_id": 1, "score": float}` when the foreground is present and scores at least
            `threshold`.
        """
        if _is_the_segmentation_pipelines_default(threshold):
            threshold = 0.0
        results = []
        for mask in self.post_process_saliency(outputs, target_sizes):
            foreground = mask > mask_threshold
            score = float(mask[foreground].max()) if foreground.any() else 0.0
            keep = bool(foreground.any()) and score >= threshold
            segmentation = foreground.long() if keep else torch.zeros_like(foreground, dtype=torch.long)
            segments = [{"id": 1, "label_id": 1, "score": score}] if keep else []
            results.append({"segmentation": segmentation, "segments_info": segments})
        return results


def _is_the_segmentation_pipelines_default(threshold) -> bool:
    """Whether `threshold` is the very default object of `ImageSegmentationPipeline.postprocess`, which the pipeline
    passes when its caller chose no threshold (a value the caller writes, even 0.9, is another object)."""
    module = sys.modules.get("transformers.pipelines.image_segmentation")
    pipeline_class = getattr(module, "ImageSegmentationPipeline", None)
    if pipeline_class is None:
        return False
    parameter = inspect.signature(pipeline_class.postprocess).parameters.get("threshold")
    return parameter is not None and threshold is parameter.default


def _as_list(images) -> list:
    if isinstance(images, (list, tuple)):
        if len(images) == 0:
            raise ValueError("No images given: the list is empty.")
        return list(images)
    return [images]


def _logits(outputs) -> torch.Tensor:
    logits = outputs["logits"] if isinstance(outputs, dict) or hasattr(outputs, "keys") else outputs.logits
    if logits.ndim != 4:
        raise ValueError(f"Expected logits of shape (batch, channels, height, width), got {tuple(logits.shape)}.")
    return logits


def to_rgb_array(image, index: int = 0) -> np.ndarray:
    """Any supported image (PIL, numpy or torch) as an `(height, width, 3)` array: uint8 for 8-bit sources, float32
    on the 0-255 scale otherwise (16-bit and float images keep their precision)."""
    return _to_rgb_array(_numpy_if_tensor(image), index)


def _numpy_if_tensor(image):
    if not isinstance(image, torch.Tensor):
        return image
    array = image.detach().cpu()
    if array.dtype == torch.bfloat16 or array.dtype == torch.float16:
        array = array.float()
    array = array.numpy()
    if array.ndim == 3 and array.shape[0] in (1, 2, 3, 4):
        array = array.transpose(1, 2, 0)  # torch convention: channels first
    return array


__all__ = ["U2NetImageProcessor"]
