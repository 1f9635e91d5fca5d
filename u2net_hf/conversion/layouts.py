# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""The source layouts the converters read, by name: what each is, and its converter module. A leaf module,
light to import: the CLI's help shows the layouts without importing torch."""

# Source layout -> what it is, in a line.
LAYOUT_DESCRIPTIONS = {
    "onnx": "rembg ONNX export (u2netp.onnx, u2net.onnx, u2net_human_seg.onnx)",
    "upstream": "xuebinqin/U-2-Net .pth (stage1.rebnconvin.conv_s1..., side1, outconv)",
    "reference": "reference implementation .pth (encode_modules, decode_modules, side_modules, out_conv)",
}
# Source layout -> the name of its converter module (`u2net_hf.conversion.LAYOUTS` holds the modules).
CONVERTER_MODULES = {
    "onnx": "convert_rembg_onnx_to_pytorch",
    "upstream": "convert_upstream_u2net_to_pytorch",
    "reference": "convert_reference_u2net_to_pytorch",
}

__all__ = ["CONVERTER_MODULES", "LAYOUT_DESCRIPTIONS"]
