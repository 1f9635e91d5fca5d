# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""Moved to `u2net_hf.conversion.convert_upstream_u2net_to_pytorch`, beside the other converters; this module
keeps the old import path working."""

from .conversion.convert_upstream_u2net_to_pytorch import *  # noqa: F403

# Named too, for readers and linters: the names in use before the move.
from .conversion.convert_upstream_u2net_to_pytorch import (  # noqa: F401
    convert_state_dict,
    expected_shapes,
    upstream_to_state_dict,
)
