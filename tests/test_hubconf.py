from pathlib import Path

import torch

from u2net_hf import U2NetForImageSegmentation

REPO_ROOT = str(Path(__file__).resolve().parents[1])


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def test_entry_points_build_the_published_variants():
    lite = torch.hub.load(REPO_ROOT, "u2net_lite", source="local")
    full = torch.hub.load(REPO_ROOT, "u2net_full", source="local")
    assert isinstance(lite, U2NetForImageSegmentation) and isinstance(full, U2NetForImageSegmentation)
    assert count_parameters(lite) == 1_128_333
    assert count_parameters(full) == 43_995_469


def test_config_overrides_reach_the_model():
    model = torch.hub.load(REPO_ROOT, "u2net_lite", source="local", freeze_batch_norm=True)
    assert model.config.freeze_batch_norm
