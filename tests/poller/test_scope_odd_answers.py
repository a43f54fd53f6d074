"""The actions' targeted snapshot (`scope.snapshot_for`) against answers shaped like other emulators' (moto)."""

from __future__ import annotations

import pytest
from fakebatch import FakeBatch

from batchtui.aws import ServerError
from batchtui.model import Status
from batchtui.plan import KIND_CANCEL, KIND_RETRY, Selection
from batchtui.retry_plan import plan_retry
from batchtui.scope import snapshot_for


def failed_pipeline(size: int = 5) -> FakeBatch:
    """JobA failed, so JobB's children all failed; JobC (N_TO_N on JobB) waits."""
    fb = FakeBatch()
    jd = "arn:aws:batch:us-east-1:123456789012:job-definition/{}:1".format
    fb.add("a", "JobA", "FAILED", jobDefinition=jd("JobA"))
    fb.add("b", "JobB", "FAILED", size, [{"jobId": "a"}], child_status="FAILED", jobDefinition=jd("JobB"))
    fb.add("c", "JobC", "PENDING", size, [{"jobId": "b", "type": "N_TO_N"}], jobDefinition=jd("JobC"))
    return fb


async def test_children_in_a_queue_listing_are_not_taken_for_jobs_of_their_own():
    # moto lists array children with the top-level jobs and describes them with the parent's dependsOn. Taken for
    # jobs, each child of JobB became a "JobB again" resubmit in `retry --downstream`.
    fb = failed_pipeline()
    fb.moto_children = True
    snap = await snapshot_for(fb, [Selection("a")], KIND_RETRY)
    assert sorted(j.job_id for j in snap.jobs) == ["a", "b", "c"]
    assert snap.job("b").array.counts()["FAILED"] == 5
    plan = plan_retry(snap, [Selection("a")], downstream=True)
    submitted = [c.params["jobName"] for c in plan.calls]
    assert submitted.count("JobB-retry") == 1 and submitted.count("JobA-retry") == 1
    assert all(c.params.get("arrayProperties", {}).get("size") in (None, 5) for c in plan.calls)
    assert snap.job("c").status is Status.PENDING


class RepeatingToken(FakeBatch):
    """A server whose child listings always answer with the same nextToken: followed naively, a loop forever."""

    async def list_jobs(self, **kw):
        if kw.get("nextToken") == "same-token-again":
            kw.pop("nextToken")  # the first page again
        page = await super().list_jobs(**kw)
        if "arrayJobId" in kw:
            if self.calls > 200:
                return {"jobSummaryList": []}  # let the test end if the guard is missing
            return {**page, "nextToken": "same-token-again"}
        return page


async def test_a_child_listing_that_repeats_its_next_token_is_an_error_not_a_hang():
    fb = RepeatingToken()
    fb.add("b", "JobB", "PENDING", 5, child_status="RUNNABLE")
    with pytest.raises(ServerError, match="does not advance"):
        await snapshot_for(fb, [Selection("b")], KIND_CANCEL)
    assert fb.calls < 10
