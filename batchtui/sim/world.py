"""`batchtui sim --world FILE`: a TOML file declaring the world to serve – compute environments, job queues, job
definitions and jobs. Each table is the body of the Batch call that makes it (CreateComputeEnvironment,
CreateJobQueue, RegisterJobDefinition, SubmitJob), applied in that order through the simulator's own API: a world
file is checked exactly as those calls are, and what AWS would refuse, the file may not declare.

    [[computeEnvironment]]
    computeEnvironmentName = "TinyCE"
    type = "MANAGED"
    computeResources = { type = "EC2", minvCpus = 0, maxvCpus = 64, instanceTypes = ["c6i.4xlarge"],
                         subnets = ["subnet-1"], securityGroupIds = ["sg-1"], instanceRole = "ecsInstanceRole" }

    [[jobQueue]]
    jobQueueName = "TinyQueue"
    priority = 1
    computeEnvironmentOrder = [{ order = 1, computeEnvironment = "TinyCE" }]

    [[jobDefinition]]
    jobDefinitionName = "big"
    type = "container"
    containerProperties = { image = "busybox", resourceRequirements = [{ type = "VCPU", value = "32" },
                                                                      { type = "MEMORY", value = "4096" }] }

    [[job]]
    jobName = "BigOne"
    jobQueue = "TinyQueue"
    jobDefinition = "big"
    dependsOn = [{ jobName = "Setup" }]   # by name: the job of that name submitted earlier in the file
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from batchtui.sim.api import BatchService
from batchtui.sim.engine import Engine, SimError

SECTIONS = (("computeEnvironment", "CreateComputeEnvironment"), ("jobQueue", "CreateJobQueue"),
            ("jobDefinition", "RegisterJobDefinition"), ("job", "SubmitJob"))


def load(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """The file's tables, checked for shape (the API checks the rest when they are applied)."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ValueError(f"world file {path}: cannot be read: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"world file {path}: not valid TOML: {e}") from None
    known = {name for name, _ in SECTIONS}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"world file {path}: unknown table {unknown[0]!r} (known: {', '.join(sorted(known))})")
    for name in data:
        if not isinstance(data[name], list) or not all(isinstance(t, dict) for t in data[name]):
            raise ValueError(f"world file {path}: {name} must be an array of tables ([[{name}]])")
    return data


def apply(engine: Engine, world: dict[str, list[dict[str, Any]]], where: str = "world file") -> dict[str, str]:
    """Make every declared thing through the simulator's API; the jobs' ids by name."""
    service = BatchService(engine)
    ids: dict[str, str] = {}
    for name, operation in SECTIONS:
        for n, body in enumerate(world.get(name) or (), 1):
            body = dict(body)
            if name == "job":
                body["dependsOn"] = [_dependency(d, ids, where, n) for d in body.get("dependsOn") or ()]
                if not body["dependsOn"]:
                    del body["dependsOn"]
            try:
                answer = service.call(operation, body)
            except SimError as e:
                raise ValueError(f"{where}: {name} #{n}: {e.message}") from None
            if name == "job":
                ids[str(body.get("jobName"))] = answer["jobId"]
    return ids


def _dependency(d: Any, ids: dict[str, str], where: str, n: int) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise ValueError(f"{where}: job #{n}: dependsOn entries are tables")
    d = dict(d)
    if "jobName" in d:
        name = str(d.pop("jobName"))
        if name not in ids:
            raise ValueError(f"{where}: job #{n}: depends on {name!r}, which is not declared before it")
        d["jobId"] = ids[name]
    return d
