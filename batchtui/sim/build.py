"""The simulated world a config asks for, built on a fresh engine: the engine knows only AWS Batch's rules and its
default account; scenarios, world files and the reference pipeline are laid on top of it here, in this order (a
scenario changes the environments the pipeline then runs on; a world file may change both), then the clock is run
forward by --advance.

    engine = build_engine(SimConfig(seed=11, scenario="stuck-capacity"))
"""

from __future__ import annotations

from batchtui.sim import scenarios, world
from batchtui.sim.engine import Engine, SimConfig


def build_engine(config: SimConfig) -> Engine:
    if config.pipeline not in ("reference", "none", "", None):
        raise ValueError(f"unknown pipeline {config.pipeline!r} (reference or none)")
    engine = Engine(config)
    if config.scenario:
        scenarios.prepare(engine, config.scenario)
    if config.world:
        world.apply(engine, dict(config.world))
    if config.pipeline == "reference":
        engine.reference_ids = scenarios.submit_reference(engine, config.array_size)
    if config.advance_s > 0:
        engine.advance(config.advance_s)
    return engine
