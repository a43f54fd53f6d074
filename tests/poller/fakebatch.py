"""A tiny in-memory Batch API double for the poller's unit tests (the HTTP tests use the real simulator).

It answers ListJobs/DescribeJobs/DescribeJobQueues as the facts file says (queue listings hold top-level jobs with
statusSummary; child listings by arrayJobId+jobStatus; offset-based nextToken pages), counts calls, and runs a
hook before every call so a test can move children between two listings (races).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from batchtui.errors import UnknownQueue
from batchtui.model import AWS_STATUSES

ORDER = [s.name for s in AWS_STATUSES]


class FakeBatch:
    def __init__(self, queue: str = "ProdQueue") -> None:
        self.queue = queue
        self.jobs: dict[str, dict] = {}  # top-level jobs: raw describe-shaped dicts
        self.children: dict[str, list[str]] = {}  # parent id -> status per index
        self.summary_override: dict[str, dict | None] = {}  # parent id -> summary to report instead of the truth
        self.summary_time = 1
        self.calls = 0
        self.throttled = 0
        self.log: list[tuple[str, dict]] = []
        self.before_call: Callable[[FakeBatch, str, dict], None] | None = None
        self.fail_with: Exception | None = None
        self.omit_index = False  # children without arrayProperties.index (id suffix only)
        self.summaries_in_listing = True  # False: queue listings leave arrayProperties out (moto; it is optional)
        # moto's children: queue listings hold array children too, and DescribeJobs answers for them (with the
        # parent's dependsOn)
        self.moto_children = False
        self.region = "us-east-1"
        self.endpoint_url = "http://fake"

    # -- building ---------------------------------------------------------------------------------------------

    def add(self, job_id: str, name: str, status: str = "PENDING", size: int | None = None,
            depends_on: list[dict] | None = None, queue: str | None = None, child_status: str = "PENDING",
            **extra: Any) -> None:
        job = {"jobId": job_id, "jobName": name, "status": status, "jobQueue": queue or self.queue,
               "createdAt": 1000 + len(self.jobs), "dependsOn": depends_on or [], **extra}
        if size is not None:
            job["arrayProperties"] = {"size": size}
            self.children[job_id] = [child_status] * size
        self.jobs[job_id] = job

    def set_child(self, job_id: str, index: int, status: str) -> None:
        self.children[job_id][index] = status
        self.summary_time += 1

    def summary(self, job_id: str) -> dict[str, int]:
        if job_id in self.summary_override:
            return self.summary_override[job_id]
        kids = self.children[job_id]
        return {s: kids.count(s) for s in ORDER}

    # -- the API ----------------------------------------------------------------------------------------------

    def _call(self, op: str, kwargs: dict) -> None:
        self.calls += 1
        self.log.append((op, kwargs))
        if self.before_call:
            self.before_call(self, op, kwargs)
        if self.fail_with is not None:
            raise self.fail_with

    def _top(self, job: dict) -> dict:
        out = {k: v for k, v in job.items() if k != "arrayProperties"}
        if "arrayProperties" in job:
            out["arrayProperties"] = {"size": job["arrayProperties"]["size"],
                                      "statusSummary": self.summary(job["jobId"]),
                                      "statusSummaryLastUpdatedAt": self.summary_time}
        return out

    async def check_queue(self, queue: str) -> dict:
        self._call("DescribeJobQueues", {"jobQueues": [queue]})
        if queue != self.queue:
            raise UnknownQueue(f"no job queue named {queue!r}")
        return {"jobQueueName": queue}

    async def list_jobs(self, **kw: Any) -> dict:
        self._call("ListJobs", kw)
        start = int(kw.get("nextToken") or 0)
        if "jobQueue" in kw:
            items = []
            for j in reversed(list(self.jobs.values())):
                if j["jobQueue"] == kw["jobQueue"]:
                    items.append(self._summary_of_top(j))
                    if self.moto_children:
                        items += [self._child_summary(j["jobId"], i, s)
                                  for i, s in enumerate(self.children.get(j["jobId"], []))]
            limit = min(kw.get("maxResults", 100), 100)
        else:
            parent = kw["arrayJobId"]
            items = [self._child_summary(parent, i, s) for i, s in enumerate(self.children.get(parent, []))
                     if s == kw["jobStatus"]]
            limit = min(kw.get("maxResults", 1000), 1000)
        page = items[start:start + limit]
        out: dict[str, Any] = {"jobSummaryList": page}
        if start + limit < len(items):
            out["nextToken"] = str(start + limit)
        return out

    def _summary_of_top(self, job: dict) -> dict:
        top = self._top(job)
        left_out = {"dependsOn", "parameters", "tags", "retryStrategy"}
        if not self.summaries_in_listing:
            left_out.add("arrayProperties")
        return {k: v for k, v in top.items() if k not in left_out}

    def _child_summary(self, parent: str, index: int, status: str) -> dict:
        s: dict[str, Any] = {"jobId": f"{parent}:{index}", "jobName": self.jobs[parent]["jobName"], "status": status}
        if not self.omit_index:
            s["arrayProperties"] = {"index": index}
        if status in ("RUNNING", "SUCCEEDED", "FAILED"):
            s["startedAt"] = 5000 + index
        if status in ("SUCCEEDED", "FAILED"):
            s["stoppedAt"] = 9000 + index
            s["container"] = {"exitCode": 0 if status == "SUCCEEDED" else 1}
        return s

    async def describe_jobs(self, ids: list[str]) -> list[dict]:
        ids = list(ids)
        for start in range(0, len(ids), 100):
            self._call("DescribeJobs", {"jobs": ids[start:start + 100]})
        out = []
        for i in ids:
            parent, _, index = i.rpartition(":")
            if i in self.jobs:
                out.append(self._top(self.jobs[i]))
            elif (self.moto_children and parent in self.children and index.isdigit()
                  and int(index) < len(self.children[parent])):
                # A child: its summary plus what DescribeJobs adds (moto copies the parent's dependsOn).
                job = self.jobs[parent]
                out.append({**self._child_summary(parent, int(index), self.children[parent][int(index)]),
                            "jobQueue": job["jobQueue"], "createdAt": job["createdAt"],
                            "dependsOn": job["dependsOn"]})
        return out

    # -- the truth ----------------------------------------------------------------------------------------------

    def truth(self, job_id: str) -> list[str]:
        return list(self.children[job_id])
