"""Shared test fixtures: the real-data folder and an offline environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _offline_env() -> None:
    """Keep every test off the network: no Hugging Face downloads, no wandb uploads."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["WANDB_MODE"] = "disabled"


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The shared real sample data (``$LANDMARKS_REALDATA`` or ``<repo>/../shared/realdata``)."""
    env = os.environ.get("LANDMARKS_REALDATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "realdata"
    if not root.is_dir():
        pytest.skip(f"real sample data not found at {root} (set LANDMARKS_REALDATA to its folder)")
    return root
