"""Pending plans on disk for the plans screen's tests, next to ui_factory's reference pipeline (fixed ids and times).

`write_plans(snap)` writes two: one made by `batchtui retry` for this pipeline (JobD-retry waits for JobC's other
indices – all of JobC's FAILED indices but one being retried, so the dashboard's round finds that one and blocks
the step; JobE-retry after it), and one made by another dashboard for a pipeline of another queue (a step
submitted, one AWS refused for good, one still waiting), which the round leaves as it is.
"""

from __future__ import annotations

from datetime import timedelta

import ui_factory as f

from batchtui import waitplans
from batchtui.model import Snapshot, Status
from batchtui.plan import Condition, Ref

THIS, OTHER = "3f9c0a1b2c4d", "b71e55d0a9f3"


def _submit(name: str, queue: str = "ProdQueue", **extra) -> dict:
    return {"jobName": name, "jobQueue": queue, "jobDefinition": f"{name.removesuffix('-retry')}:1", **extra}


def this_pipelines_plan(snap: Snapshot) -> waitplans.StoredPlan:
    c = snap.by_name("JobC")
    assert c is not None and c.array is not None
    failed = c.array.indices(Status.FAILED)
    retried = tuple(failed[:-1])  # the last one FAILED after the plan was made
    d = waitplans.Step("JobD-retry", "JobD-retry: whole JobD again (array of 10); waits for JobC's other indices",
                       _submit("JobD-retry", dependsOn=[{"jobId": "c0ffee00-0000-4000-8000-00000000c0c0"},
                                                        {"type": "SEQUENTIAL"}]),
                       (Condition(c.job_id, "JobC", c.array_size, retried),))
    e = waitplans.Step("JobE-retry", "JobE-retry: JobE again; after waiting step W1 (JobD-retry)",
                       _submit("JobE-retry", dependsOn=[{"jobId": Ref(0, waiting=True)}]), (), (0,))
    created = (f.NOW - timedelta(minutes=12, seconds=5)).isoformat().replace("+00:00", "Z")
    return waitplans.StoredPlan(THIS, created, "ProdQueue", "alice", (d, e),
                                origin="batchtui retry (pid 4242 on bastion-1)")


def other_queues_plan() -> waitplans.StoredPlan:
    up = "0b5e3c1d-aaaa-4bbb-8ccc-00000000n1ce"
    steps = (
        waitplans.Step("NightlyC-retry", "NightlyC-retry: array of 20 re-running NightlyC indices 3–22",
                       _submit("NightlyC-retry", "NightlyQueue"), (Condition(up, "NightlyB", 500, ()),),
                       state=waitplans.SUBMITTED, job_id="e2f1a9b4-1c2d-4e5f-8a9b-0c1d2e3f4a5b"),
        waitplans.Step("NightlyReport-retry", "NightlyReport-retry: NightlyReport again",
                       _submit("NightlyReport-retry", "NightlyQueue"), (Condition(up, "NightlyB", 500, ()),),
                       state=waitplans.DROPPED, reason="refused: not submitted: SubmitJob was refused "
                       "(ClientException): job definition NightlyReport:4 is INACTIVE"),
        waitplans.Step("NightlyD-retry", "NightlyD-retry: whole NightlyD again (array of 500)",
                       _submit("NightlyD-retry", "NightlyQueue"), (Condition(up, "NightlyB", 500, (7,)),),
                       reason="waits for NightlyB's other 499 indices: 312 of NightlyB's other 499 indices "
                              "SUCCEEDED"),
    )
    created = (f.NOW - timedelta(hours=2, minutes=41)).isoformat().replace("+00:00", "Z")
    return waitplans.StoredPlan(OTHER, created, "NightlyQueue", "bob", steps,
                                origin="the dashboard (pid 977 on ops-laptop)")


def write_plans(snap: Snapshot) -> list[waitplans.StoredPlan]:
    plans = [other_queues_plan(), this_pipelines_plan(snap)]
    for p in plans:
        waitplans.save(p, waitplans.plans_dir())
    return plans
