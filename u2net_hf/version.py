# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""The package version, in a module of its own so that any module can read it without importing the package."""

__version__ = "0.1.0"
