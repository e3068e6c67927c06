"""Shared test fixtures: the real-data folder and an offline environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.tiny import realdata_root


@pytest.fixture(scope="session", autouse=True)
def _offline_env() -> None:
    """Keep every test off the network: no Hugging Face downloads, no wandb uploads."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["WANDB_MODE"] = "disabled"


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The shared real sample data (``$LANDMARKS_REALDATA`` or ``<repo>/../shared/realdata``)."""
    root = realdata_root()
    if not root.is_dir():
        pytest.skip(f"real sample data not found at {root} (set LANDMARKS_REALDATA to its folder)")
    return root
