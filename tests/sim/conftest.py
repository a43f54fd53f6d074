"""Fixtures: a simulator on its own thread with boto3 clients pointed at it (a real client over real HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sim_harness import START_MS, Sim, clients

from batchtui.sim.engine import SimConfig
from batchtui.sim.server import ThreadedSim, run_in_thread


@pytest.fixture(autouse=True)
def _credentials(dummy_credentials: None) -> None:
    """Every simulator test talks to it with stock clients: the suite's dummy credentials (tests/conftest.py)."""


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Sim]]:
    """make_sim(**SimConfig fields) → a running simulator (frozen clock unless speed is given) and clients."""
    started: list[ThreadedSim] = []

    def make(**fields: Any) -> Sim:
        fields.setdefault("speed", 0.0)
        fields.setdefault("pipeline", "none")
        fields.setdefault("start_ms", START_MS)
        handle = run_in_thread(SimConfig(**fields))
        started.append(handle)
        sim = Sim(handle, *clients(handle.url))
        sim.engine.register_job_definition("sim-work", {
            "image": "busybox", "command": ["sleep", "60"],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
            "environment": [{"name": "SIM_DURATION_S", "value": "60"}],
        })
        return sim

    yield make
    for handle in started:
        handle.stop()


@pytest.fixture
def sim(make_sim: Callable[..., Sim]) -> Sim:
    return make_sim()
