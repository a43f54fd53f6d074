"""Dummy AWS credentials for the analysis tests that read the simulator over HTTP (never a real account)."""

import pytest


@pytest.fixture(autouse=True)
def _credentials(dummy_credentials):
    """Every analysis test may poll the simulator: with the suite's dummy credentials (tests/conftest.py)."""
