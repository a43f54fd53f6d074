"""The simulator harness for tests: a simulator on its own thread and boto3 clients pointed at it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from batchtui.sim.engine import Engine
from batchtui.sim.server import ThreadedSim

START_MS = 1_790_000_000_000  # a fixed simulated start, so runs compare exactly


@dataclass
class Sim:
    handle: ThreadedSim
    batch: Any  # boto3 Batch client, no retries
    logs: Any  # boto3 CloudWatch Logs client
    raw: Any  # Batch client without client-side parameter validation (to send what AWS would reject)

    @property
    def engine(self) -> Engine:
        return self.handle.engine

    @property
    def url(self) -> str:
        return self.handle.url

    def advance(self, seconds: float) -> None:
        self.engine.advance(seconds)

    def submit(self, name: str = "work", *, size: int = 0, env: dict[str, str] | None = None, **kw: Any) -> str:
        body: dict[str, Any] = {"jobName": name, "jobQueue": kw.pop("queue", "ProdQueue"),
                                "jobDefinition": kw.pop("jobDefinition", "sim-work")}
        if size:
            body["arrayProperties"] = {"size": size}
        if env:
            body["containerOverrides"] = {"environment": [{"name": k, "value": v} for k, v in env.items()]}
        body.update(kw)
        return self.batch.submit_job(**body)["jobId"]

    def status(self, job_id: str) -> str:
        return self.batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"]

    def describe(self, job_id: str) -> dict[str, Any]:
        return self.batch.describe_jobs(jobs=[job_id])["jobs"][0]

    def children(self, array_id: str, status: str) -> list[dict[str, Any]]:
        """Every child in a status, through ListJobs pagination."""
        pages = self.batch.get_paginator("list_jobs").paginate(arrayJobId=array_id, jobStatus=status,
                                                               PaginationConfig={"PageSize": 1000})
        return [s for page in pages for s in page["jobSummaryList"]]


def clients(url: str) -> tuple[Any, Any, Any]:
    config = Config(retries={"total_max_attempts": 1}, region_name="us-east-1")
    raw_config = Config(retries={"total_max_attempts": 1}, region_name="us-east-1", parameter_validation=False)
    return (boto3.client("batch", endpoint_url=url, config=config),
            boto3.client("logs", endpoint_url=url, config=config),
            boto3.client("batch", endpoint_url=url, config=raw_config))
