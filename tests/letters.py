"""Per-index states written as one letter per index, for the hand-built snapshots of the action and analysis tests
(actions/actions_factory.py, analysis/analysis_factory.py), and the dependency shorthands they share.

Letters: u SUBMITTED, p PENDING, r RUNNABLE, t STARTING, R RUNNING, S SUCCEEDED, F FAILED, ? UNKNOWN.
"""

from __future__ import annotations

from datetime import UTC, datetime

from batchtui.model import Dependency, Status

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # the factories' snapshots are polled then
LETTERS = {"u": Status.SUBMITTED, "p": Status.PENDING, "r": Status.RUNNABLE, "t": Status.STARTING,
           "R": Status.RUNNING, "S": Status.SUCCEEDED, "F": Status.FAILED, "?": Status.UNKNOWN}
SEQ = Dependency(None, "SEQUENTIAL")


def states(text: str) -> bytes:
    return bytes(LETTERS[c] for c in text)


def dep(job_id: str, type: str | None = None) -> Dependency:
    return Dependency(job_id, type)


def n2n(job_id: str) -> Dependency:
    return Dependency(job_id, "N_TO_N")
