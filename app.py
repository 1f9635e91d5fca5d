# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""The web page alone, on the bundled model: a Hugging Face Space (`sdk: gradio`, `app_file: app.py`), or locally
`gradio app.py` / `python app.py`. Needs the serve extra: pip install -e ".[serve]"."""

from u2net_hf.server import SessionRegistry
from u2net_hf.ui import build_ui

demo = build_ui(SessionRegistry(["u2net-lite"]))

if __name__ == "__main__":
    demo.launch()
