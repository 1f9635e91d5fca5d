# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Video files: the background removed from every frame of a clip, written as a video that keeps its transparency.

[`remove_video`] decodes a clip with PyAV (FFmpeg's Python binding), runs its frames through a session in batches
([`~u2net_hf.Session.predict`]), smooths the masks over time so that they do not flicker ([`TemporalSmoother`]),
composites each frame ([`~u2net_hf.background.compose`]) and encodes the result:

| output | codec | transparency |
|---|---|---|
| `.webm`, `.mkv` | VP9, `yuva420p` | yes (alpha stored beside the colour, as browsers read it) |
| `.mov` | ProRes 4444, `yuva444p10le` | yes (editing software: Premiere, Final Cut, DaVinci Resolve) |
| `.avi` | PNG frames, `rgba` | yes, lossless (large files) |
| `.mp4` | H.264, `yuv420p` | no: needs `bg_color` (R, G, B), or `mask_only` |

Frame rate, frame count, time stamps and displayed size are kept; a clip with a rotation flag (phone videos) is
turned upright first, as [`~u2net_hf.images.load_image`] does with EXIF orientation, and written upright. Audio is
copied when the output container takes its codec (re-encoded to Opus for WebM, AAC for MP4/MOV otherwise). Needs
the `video` extra (`pip install -e ".[video]"` in a clone).
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .background import RemoveOptions, compose
from .extras import install_hint
from .files import atomic_write
from .images import printable_name

INSTALL_HINT = install_hint("video")
VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".mkv", ".avi")
# How much of the previous frame's (smoothed) mask a pixel keeps where the picture did not change there.
DEFAULT_SMOOTHING = 0.6
# Colour change (0-255, largest channel) at which a pixel counts as changed: no smoothing there.
DEFAULT_MOTION_THRESHOLD = 24

# Container format, video codec, and the audio codecs each container takes as they are (None: any).
_CONTAINERS = {
    ".webm": ("webm", "libvpx-vp9", {"opus", "vorbis"}),
    ".mkv": ("matroska", "libvpx-vp9", None),
    ".mov": ("mov", "prores_ks", {"aac", "alac", "mp3", "ac3", "pcm_s16le", "pcm_s24le", "pcm_s16be", "pcm_f32le"}),
    ".mp4": ("mp4", "libx264", {"aac", "mp3", "opus", "alac", "flac", "ac3", "eac3"}),
    ".avi": ("avi", "png", {"mp3", "pcm_s16le"}),
}
# Audio encoders for audio the container does not take as it is.
_AUDIO_ENCODERS = {"webm": "libopus", "mov": "aac", "mp4": "aac", "avi": "pcm_s16le"}
# (with alpha, without alpha, mask) pixel formats of each video codec.
_PIXEL_FORMATS = {
    "libvpx-vp9": ("yuva420p", "yuv420p", "yuv420p"),
    "prores_ks": ("yuva444p10le", "yuv444p10le", "yuv444p10le"),
    "libx264": (None, "yuv420p", "yuv420p"),
    "png": ("rgba", "rgb24", "gray"),
}
_CODEC_OPTIONS = {
    # Constant quality; "good" with cpu-used 4 is several times faster than the default and barely larger.
    "libvpx-vp9": {"crf": "30", "b": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"},
    "prores_ks": {"profile": "4444", "vendor": "apl0"},
    "libx264": {"crf": "18", "preset": "medium"},
    "png": {},
}


def is_video_path(path: str | os.PathLike) -> bool:
    """
    Whether a file name is a video's, by its extension: `.mp4`, `.mov`, `.webm`, `.mkv` or `.avi`.

    Example:

    ```python
    >>> from u2net_hf.video import is_video_path

    >>> is_video_path("clip.MP4"), is_video_path("photo.png")
    (True, False)
    ```
    """
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


class TemporalSmoother:
    """
    Steadier masks for video: each frame's foreground probability is blended with the previous frame's smoothed
    one, by `strength`, wherever the picture did not change; where it changed (the subject moved, the scene cut),
    the new probability is taken as it is, so that nothing lags behind or leaves a ghost.

    The weight of the past at a pixel is `strength * max(0, 1 - change / motion_threshold)`, `change` being the
    largest colour difference of its channels from the previous frame (0-255).

    Args:
        strength (`float`, *optional*, defaults to 0.6):
            In [0, 1): 0 turns smoothing off; higher is steadier.
        motion_threshold (`float`, *optional*, defaults to 24):
            The colour change at which a pixel counts as moved.

    Example:

    ```python
    >>> import numpy as np
    >>> from u2net_hf.video import TemporalSmoother

    >>> smoother = TemporalSmoother(strength=0.5)
    >>> still = np.zeros((2, 2, 3), dtype=np.uint8)
    >>> smoother(still, np.full((2, 2), 0.8, np.float32))[0, 0].item()
    0.800000011920929
    >>> smoother(still, np.full((2, 2), 0.6, np.float32))[0, 0].item()  # halfway back to the previous frame
    0.7000000476837158
    ```
    """

    def __init__(self, strength: float = DEFAULT_SMOOTHING, motion_threshold: float = DEFAULT_MOTION_THRESHOLD):
        if not 0 <= strength < 1:
            raise ValueError(f"smoothing strength is in [0, 1), got {strength!r}.")
        if motion_threshold <= 0:
            raise ValueError(f"motion_threshold is a colour change above 0, got {motion_threshold!r}.")
        self.strength = float(strength)
        self.motion_threshold = float(motion_threshold)
        self._previous: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, rgb: np.ndarray, probability: np.ndarray) -> np.ndarray:
        probability = np.asarray(probability, dtype=np.float32)
        previous, self._previous = self._previous, None
        if previous is not None and self.strength > 0 and previous[0].shape == rgb.shape:
            previous_rgb, previous_probability = previous
            change = np.abs(rgb.astype(np.int16) - previous_rgb.astype(np.int16)).max(axis=2)
            weight = self.strength * np.clip(1 - change / np.float32(self.motion_threshold), 0, 1, dtype=np.float32)
            probability = probability + weight * (previous_probability - probability)
        self._previous = (rgb, probability)
        return probability


def flicker(alphas: list[np.ndarray], still: np.ndarray | None = None) -> float:
    """
    How much a sequence of masks flickers: the mean absolute change of the alpha (0-255) between consecutive
    frames, over all pixels, or over those where `still` is True (the pixels where the picture itself does not
    change, so that any change of the alpha there is flicker).

    Example:

    ```python
    >>> import numpy as np
    >>> from u2net_hf.video import flicker

    >>> flicker([np.zeros((2, 2), np.uint8), np.full((2, 2), 10, np.uint8)])
    10.0
    ```
    """
    changes = [np.abs(b.astype(np.float32) - a.astype(np.float32)) for a, b in itertools.pairwise(alphas)]
    if not changes:
        return 0.0
    stacked = np.stack(changes)
    return float(stacked[:, still].mean() if still is not None else stacked.mean())


@dataclass(frozen=True)
class VideoResult:
    """
    What [`remove_video`] wrote.

    Args:
        output (`Path`): The video file.
        frames (`int`): Frames written (as many as the clip has).
        size (`tuple[int, int]`): `(width, height)` as displayed.
        fps (`Fraction`): The frame rate.
        video_codec (`str`): The codec written (`"libvpx-vp9"`, `"prores_ks"`, `"libx264"`, `"png"`).
        pixel_format (`str`): Its pixel format (`"yuva420p"`: with alpha).
        audio (`str`, *optional*): `"copied"`, `"re-encoded as CODEC"`, or `None` when the clip has no sound.
    """

    output: Path
    frames: int
    size: tuple[int, int]
    fps: Fraction
    video_codec: str
    pixel_format: str
    audio: str | None


def remove_video(
    session,
    source: str | os.PathLike,
    destination: str | os.PathLike,
    *,
    batch_size: int = 4,
    smoothing: float = DEFAULT_SMOOTHING,
    progress: bool = False,
    **options,
) -> VideoResult:
    """
    Remove the background of every frame of a video and write the result as a video (see the table of formats in
    this module's description), atomically: `destination` appears complete, or not at all.

    Args:
        session ([`~u2net_hf.Session`]):
            The loaded model (see [`~u2net_hf.new_session`]).
        source (`str` or `os.PathLike`):
            A video file FFmpeg reads (any container and codec; the first video stream is used).
        destination (`str` or `os.PathLike`):
            The video to write: `.webm`, `.mkv`, `.mov`, `.avi` keep transparency, `.mp4` needs an opaque
            `bg_color` or `mask_only`.
        batch_size (`int`, *optional*, defaults to 4):
            Frames per forward pass.
        smoothing (`float`, *optional*, defaults to 0.6):
            Temporal smoothing of the masks (see [`TemporalSmoother`]); 0 turns it off, so that every frame's
            alpha is exactly what [`~u2net_hf.Session.remove`] gives for it.
        progress (`bool`, *optional*, defaults to `False`):
            Show a progress bar over the frames (tqdm, on stderr).
        options:
            Removal options (`mask_only`, `bg_color`, `threshold`, ...; see [`~u2net_hf.remove_background`]).

    Returns:
        [`VideoResult`].

    Raises:
        `ValueError`: one line when `source` is not a video (or is truncated or damaged), or when `destination`'s
        format cannot hold the result. `RuntimeError`: when PyAV is not installed.

    Example:

    ```python
    >>> from u2net_hf import new_session
    >>> from u2net_hf.video import remove_video

    >>> result = remove_video(new_session(), "docs/assets/streams/clip.mp4", "clip.webm")
    >>> result.frames, result.size, result.pixel_format
    (16, (160, 120), 'yuva420p')
    ```
    """
    av = _pyav()
    source, destination = Path(source), Path(destination)
    name = printable_name(source)
    removal = RemoveOptions.create(**options)
    container_format, video_codec, audio_codecs = _output_kind(destination)
    pixel_format = _pixel_format(video_codec, removal, destination)
    smoother = TemporalSmoother(smoothing)
    with _open_clip(av, source) as clip:
        video = clip.streams.video[0]
        audio = clip.streams.audio[0] if clip.streams.audio else None
        # AVI headers count the empty packets that stand for repeated frames too: no exact count there.
        expected = (video.frames or None) if clip.format.name != "avi" else None
        try:
            with atomic_write(destination) as file, av.open(file, "w", format=container_format) as output:
                writer = _VideoWriter(av, output, video, video_codec, pixel_format)
                sound = _AudioCopy(output, audio, audio_codecs, container_format) if audio is not None else None
                frames = _decoded_frames(av, clip, video, audio, sound, name)
                # The first frame gives the size (upright); the audio met before it waits until the streams are set up.
                first = next(frames, None)
                _check_complete(0 if first is None else 1, None, name)
                writer.open(first[0].shape[1], first[0].shape[0])
                if sound is not None:
                    sound.open()
                bar = _progress_bar(progress, expected)
                try:
                    for batch in _batches(itertools.chain([first], frames), batch_size):
                        probabilities = session.predict([rgb for rgb, _ in batch], batch_size=batch_size)
                        for (rgb, timing), probability in zip(batch, probabilities):
                            result = compose(rgb, smoother(rgb, probability), removal)
                            writer.write(np.asarray(result), result.mode, timing)
                            bar.update()
                finally:
                    bar.close()
                writer.flush()
                if sound is not None:
                    sound.flush()
                _check_complete(writer.count, expected, name, writer.end, _video_duration(video))
        except (av.error.FFmpegError, EOFError) as error:
            # FFmpeg's errors while encoding or muxing (a codec the build lacks, a full disk): one line naming
            # the output; nothing is left at `destination` (the write is atomic).
            raise ValueError(
                f"{printable_name(destination)}: cannot write the video: {' '.join(str(error).split())}"
            ) from None
    return VideoResult(
        destination,
        writer.count,
        writer.size,
        writer.fps,
        video_codec,
        pixel_format,
        sound.described if sound is not None else None,
    )


def _pyav():
    try:
        import av
    except ImportError as error:
        raise RuntimeError(f"Reading and writing video needs PyAV: {INSTALL_HINT}.") from error
    return av


def _output_kind(destination: Path) -> tuple[str, str, set | None]:
    kind = _CONTAINERS.get(destination.suffix.lower())
    if kind is None:
        raise ValueError(
            f"{printable_name(destination)}: not a video name; write .webm or .mov (transparent), or .mp4 over a "
            "colour."
        )
    return kind


def _pixel_format(codec: str, options: RemoveOptions, destination: Path) -> str:
    with_alpha, opaque, mask = _PIXEL_FORMATS[codec]
    if options.mask_only:
        return mask
    if not options.has_alpha:
        return opaque
    if with_alpha is None:
        raise ValueError(
            f"{printable_name(destination)}: H.264 MP4 cannot store transparency; write .webm or .mov to keep it, or "
            "flatten the video onto a colour (bg_color, -bgc R G B)."
        )
    return with_alpha


class _open_clip:
    """`av.open` for reading, with FFmpeg's errors turned into one line that names the file."""

    def __init__(self, av, source: Path):
        self.av, self.source = av, source

    def __enter__(self):
        name = printable_name(self.source)
        if not self.source.is_file():
            raise OSError(f"{name}: no such file." if not self.source.exists() else f"{name}: not a regular file.")
        try:
            self.clip = self.av.open(os.fspath(self.source), "r")
        except self.av.FFmpegError as error:
            raise ValueError(
                f"{name}: not a video FFmpeg can read ({_reason(error)}): not a video, or a truncated or damaged one."
            ) from None
        if not self.clip.streams.video:
            self.clip.close()
            raise ValueError(f"{name}: no video stream in it (an audio file?).")
        return self.clip

    def __exit__(self, *exc_info):
        self.clip.close()


def _reason(error) -> str:
    return " ".join(str(getattr(error, "strerror", None) or error).split())


@dataclass(frozen=True)
class _Timing:
    pts: int | None
    time_base: Fraction


def _decoded_frames(av, clip, video, audio, sound, name: str) -> Iterator[tuple[np.ndarray, _Timing]]:
    """The clip's frames as upright RGB arrays with their time stamps, in order; audio packets met on the way go to
    `sound`."""
    video.thread_type = "AUTO"  # frame-parallel decoding
    streams = [video] if audio is None else [video, audio]
    count = 0
    try:
        for packet in clip.demux(*streams):
            if packet.stream is audio:
                sound.take(packet)
                continue
            for frame in packet.decode():
                rgb = frame.to_ndarray(format="rgb24")
                rotation = getattr(frame, "rotation", 0)  # PyAV 14+ reads the display matrix; older: none
                if rotation:
                    rgb = np.ascontiguousarray(np.rot90(rgb, k=round(rotation / 90) % 4))
                count += 1
                yield rgb, _Timing(frame.pts, frame.time_base or video.time_base)
    except av.FFmpegError as error:
        raise ValueError(
            f"{name}: cannot decode frame {count} ({_reason(error)}); the file may be truncated or damaged."
        ) from None


def _batches(frames: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in frames:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _check_complete(
    count: int, expected: int | None, name: str, end: float = 0, duration: float | None = None
) -> None:
    """A clip whose decoding stops early is truncated: fewer frames than its header counts (MP4, MOV), or, where
    only its duration is written (WebM, Matroska), frames that end more than two frame times before it."""
    if count == 0:
        raise ValueError(f"{name}: no frame could be decoded; the file may be truncated or damaged.")
    if expected is not None and count < expected:
        raise ValueError(f"{name}: truncated: only {count} of its {expected} frames could be decoded.")
    if expected is None and duration is not None and end < duration - 2 * (end / count):
        raise ValueError(
            f"{name}: truncated: its frames stop at {end:.2f} s of its {duration:.2f} s ({count} frames decoded)."
        )


def _video_duration(video) -> float | None:
    """The video stream's own duration in seconds, from its header or, in Matroska files, its DURATION tag (the
    clip's duration may be its sound's)."""
    if video.duration:
        return float(video.duration * video.time_base)
    tag = video.metadata.get("DURATION", "")
    try:
        hours, minutes, seconds = tag.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None


def _progress_bar(progress: bool, total: int | None):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="frame", disable=None if progress else True, file=sys.stderr, dynamic_ncols=True)


class _VideoWriter:
    """The output's video stream: the clip's frame rate and time stamps, frames encoded as they come."""

    def __init__(self, av, output, video, codec: str, pixel_format: str):
        self.av, self.output, self.video = av, output, video
        self.codec, self.pixel_format = codec, pixel_format
        self.fps = Fraction(video.average_rate or video.guessed_rate or 25)
        self.stream = None
        self.count = 0
        self.end = 0.0  # seconds: where the last frame ends
        self.size = (0, 0)

    def open(self, width: int, height: int) -> None:
        stream = self.output.add_stream(self.codec, rate=self.fps, options=dict(_CODEC_OPTIONS[self.codec]))
        stream.width, stream.height = width, height
        pixel_format = self.pixel_format
        if self.codec == "libx264" and (width % 2 or height % 2):
            pixel_format = "yuv444p"  # 4:2:0 needs even sizes; 4:4:4 keeps every pixel of an odd one
        stream.pix_fmt = pixel_format
        # The clip's own time base, so that every frame keeps its time stamp, even in variable-frame-rate clips;
        # AVI counts frames at a constant rate instead (a finer time base would fill it with empty frames).
        self.time_base = 1 / self.fps if self.output.format.name == "avi" else self.video.time_base
        stream.codec_context.time_base = self.time_base
        stream.codec_context.thread_count = os.cpu_count() or 1
        self.stream, self.size = stream, (width, height)

    def write(self, pixels: np.ndarray, mode: str, timing: _Timing) -> None:
        frame = self.av.VideoFrame.from_ndarray(pixels, format={"RGBA": "rgba", "RGB": "rgb24", "L": "gray"}[mode])
        seconds = timing.pts * timing.time_base if timing.pts is not None else self.count / self.fps
        frame.pts, frame.time_base = round(seconds / self.time_base), self.time_base
        self.count += 1
        self.end = max(self.end, float(seconds + 1 / self.fps))
        for packet in self.stream.encode(frame):
            self.output.mux(packet)

    def flush(self) -> None:
        if self.stream is not None:
            for packet in self.stream.encode(None):
                self.output.mux(packet)


class _AudioCopy:
    """The clip's sound in the output: its packets as they are when the container takes the codec, re-encoded
    otherwise. Packets that come before [`open`] (before the video stream is set up) wait."""

    def __init__(self, output, audio, codecs: set | None, container_format: str):
        self.output, self.audio = output, audio
        self.copy = codecs is None or audio.codec_context.name in codecs
        self.encoder = None if self.copy else _AUDIO_ENCODERS[container_format]
        self.described = "copied" if self.copy else f"re-encoded as {self.encoder.removeprefix('lib')}"
        self.stream = None
        self.waiting = []

    def open(self) -> None:
        if self.copy:
            self.stream = self.output.add_stream_from_template(self.audio)
        else:
            source = self.audio.codec_context
            rate = 48000 if self.encoder == "libopus" else source.sample_rate or 48000  # Opus runs at 48 kHz
            self.stream = self.output.add_stream(self.encoder, rate=rate)
            self.stream.layout = source.layout.name if source.layout else "stereo"
        for packet in self.waiting:
            self.take(packet)
        self.waiting = []

    def take(self, packet) -> None:
        if self.stream is None:
            self.waiting.append(packet)
        elif self.copy:
            if packet.dts is not None:  # None: the demuxer's empty packet at the end
                packet.stream = self.stream
                self.output.mux(packet)
        else:
            for frame in packet.decode():
                frame.pts = None  # the encoder counts samples itself
                for encoded in self.stream.encode(frame):
                    self.output.mux(encoded)

    def flush(self) -> None:
        if not self.copy:
            for encoded in self.stream.encode(None):
                self.output.mux(encoded)


__all__ = [
    "DEFAULT_MOTION_THRESHOLD",
    "DEFAULT_SMOOTHING",
    "INSTALL_HINT",
    "VIDEO_EXTENSIONS",
    "TemporalSmoother",
    "VideoResult",
    "flicker",
    "is_video_path",
    "remove_video",
]
