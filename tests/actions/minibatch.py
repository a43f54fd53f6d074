"""A small in-memory Batch double for the action tests that need ListJobs as well (scope, CLI).

Describe-shaped top-level jobs; children as a status list per array; the ListJobs modes the scope module uses
(jobQueue + AFTER_CREATED_AT filter, arrayJobId + jobStatus, nextToken pages); SubmitJob, CancelJobs and
TerminateJobs change state the way the facts file says (terminal jobs stay as they are; unknown ids "succeed").
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field

STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")


@dataclass
class Bulk:
    successful: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


class MiniBatch:
    region = "us-east-1"
    endpoint_url = "http://127.0.0.1:9"

    def __init__(self, page: int = 3) -> None:
        self.jobs: dict[str, dict] = {}
        self.children: dict[str, list[str]] = {}
        self.calls = 0
        self.log: list[tuple[str, dict]] = []
        self.page = page  # small pages, so pagination is exercised
        self._next = 0

    def add(self, job_id: str, name: str, status: str, size: int | None = None, children: str | None = None,
            depends_on: list[dict] | None = None, **extra) -> None:
        job = {"jobId": job_id, "jobName": name, "status": status, "jobQueue": "arn:q/ProdQueue",
               "jobDefinition": f"arn:jd/{name}:1", "createdAt": 1000 + len(self.jobs),
               "dependsOn": depends_on or [], **extra}
        if size is not None:
            job["arrayProperties"] = {"size": size}
            letters = {"p": "PENDING", "r": "RUNNABLE", "R": "RUNNING", "S": "SUCCEEDED", "F": "FAILED"}
            self.children[job_id] = [letters[c] for c in (children or "p" * size)]
        self.jobs[job_id] = job

    def _call(self, op: str, kwargs: dict) -> None:
        self.calls += 1
        self.log.append((op, kwargs))

    def ops(self) -> list[str]:
        return [op for op, _ in self.log]

    def status(self, job_id: str) -> str | None:
        parent, _, idx = job_id.rpartition(":")
        if parent in self.children and idx.isdigit():
            kids = self.children[parent]
            return kids[int(idx)] if int(idx) < len(kids) else None
        job = self.jobs.get(job_id)
        return job["status"] if job else None

    async def describe_jobs(self, ids):
        self._call("DescribeJobs", {"jobs": list(ids)})
        out = []
        for i in ids:
            status = self.status(i)
            if status is None:
                continue
            if i in self.jobs:
                out.append(dict(self.jobs[i]))
            else:
                parent, _, idx = i.rpartition(":")
                out.append({"jobId": i, "jobName": self.jobs[parent]["jobName"], "status": status,
                            "arrayProperties": {"index": int(idx)}})
        return out

    async def list_jobs(self, **kw):
        self._call("ListJobs", kw)
        if "arrayJobId" in kw:
            kids = self.children[kw["arrayJobId"]]
            items = [{"jobId": f"{kw['arrayJobId']}:{i}", "jobName": "x", "status": s, "arrayProperties": {"index": i}}
                     for i, s in enumerate(kids) if s == kw["jobStatus"]]
        else:
            since = int(kw["filters"][0]["values"][0])
            items = [{"jobId": j["jobId"], "jobName": j["jobName"], "status": j["status"]}
                     for j in sorted(self.jobs.values(), key=lambda j: -j["createdAt"]) if j["createdAt"] > since]
        start = int(kw.get("nextToken") or 0)
        out = {"jobSummaryList": items[start:start + self.page]}
        if start + self.page < len(items):
            out["nextToken"] = str(start + self.page)
        return out

    async def submit_job(self, **kw):
        self._call("SubmitJob", kw)
        job_id = f"new-{self._next}"
        self._next += 1
        size = (kw.get("arrayProperties") or {}).get("size")
        self.add(job_id, kw["jobName"], "SUBMITTED", size=size, depends_on=kw.get("dependsOn"),
                 tags=kw.get("tags"), container={k: v for k, v in (kw.get("containerOverrides") or {}).items()})
        return {"jobId": job_id, "jobName": kw["jobName"]}

    async def _stop(self, op: str, ids, reason: str) -> Bulk:
        self._call(op, {"jobs": list(ids), "reason": reason})
        stoppable = ("SUBMITTED", "PENDING", "RUNNABLE") + (("STARTING", "RUNNING") if op == "TerminateJobs" else ())
        for i in ids:
            if i in self.children:
                self.children[i] = ["FAILED" if s in stoppable else s for s in self.children[i]]
                self.jobs[i]["status"] = "FAILED"
            elif self.status(i) in stoppable:
                parent, _, idx = i.rpartition(":")
                if parent in self.children:
                    self.children[parent][int(idx)] = "FAILED"
                else:
                    self.jobs[i]["status"] = "FAILED"
        return Bulk(successful=list(ids))

    async def cancel_jobs(self, ids, reason):
        return await self._stop("CancelJobs", ids, reason)

    async def terminate_jobs(self, ids, reason):
        return await self._stop("TerminateJobs", ids, reason)


def reference(b: str, c: str, d: str = "F" * 10, e: str = "FAILED") -> MiniBatch:
    """A → B ⇉ C → D(seq) → E, with B/C/D per-index states as letters (p r R S F)."""
    mb = MiniBatch()
    mb.add("A", "JobA", "SUCCEEDED")
    mb.add("B", "JobB", _parent(b), size=len(b), children=b, depends_on=[{"jobId": "A"}],
           container={"environment": [{"name": "AWS_BATCH_JOB_ID", "value": "B"}]})
    mb.add("C", "JobC", _parent(c), size=len(c), children=c, depends_on=[{"jobId": "B", "type": "N_TO_N"}])
    mb.add("D", "JobD", _parent(d), size=len(d), children=d,
           depends_on=[{"jobId": "C"}, {"type": "SEQUENTIAL"}])
    mb.add("E", "JobE", e, depends_on=[{"jobId": "D"}], parameters={"Recipient": "ops@example.com"})
    return mb


def _parent(letters: str) -> str:
    if set(letters) == {"S"}:
        return "SUCCEEDED"
    return "FAILED" if set(letters) <= {"S", "F"} else "PENDING"


def patch_open_api(monkeypatch, mb: MiniBatch) -> None:
    @asynccontextmanager
    async def fake_open_api(**_):
        yield mb

    monkeypatch.setattr("batchtui.aws.open_api", fake_open_api)
