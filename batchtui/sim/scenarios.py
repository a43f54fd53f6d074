"""The reference pipeline (the AWS user guide's "Example array job workflow"), tuned for the simulator.

Job definitions carry SIM_* settings so that a reference run at 10,000 children takes about four simulated hours:
JobA lists a bucket for ~10 minutes; JobB (32 vCPU each) goes through the compute-optimised pool 128 at a time in
waves of ~3 minutes; JobC (32 GiB each) runs in the memory-optimised pool and follows JobB index by index; JobD's 10
sequential steps take about a minute each; JobE cleans up.

The failures are the mix a real run of this shape shows, reproducible with the seed. The compute-optimised pool is
SPOT: 2% of JobB's attempts lose their instance (`Host EC2 (instance i-…) terminated.`, no exit code) and, with no
retryStrategy, fail their index (~200 of 10,000: the retry the triage proposes fixes them); 3% of JobB's failures
are an application error instead. JobC is memory-heavy: 8% of its attempts fail, 97% of those out of memory, and it
has two attempts, so ~0.6% of its indices fail, nearly all OOMs. Which attempts are reclaimed is steered by the job
definitions (SIM_FAIL_RATE, SIM_FAIL_KINDS) rather than drawn for every attempt on ProdCE, so a job of your own or
a retry on ProdQueue runs as on demand would, and the same seed fails the same indices as before the mix.
"""

from __future__ import annotations

import copy
import json
from importlib import resources as importlib_resources
from typing import Any

from batchtui.sim.api import BatchService
from batchtui.sim.engine import Engine

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/pipeline/{}:2026.11.2"
JOB_ROLE = "arn:aws:iam::123456789012:role/BatchPipelineJobRole"
EXECUTION_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"


def _env(**values: str) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in values.items()]


def _container(image: str, command: list[str], vcpus: int, memory: int, **env: str) -> dict[str, Any]:
    return {
        "image": IMAGE.format(image),
        "command": command,
        "jobRoleArn": JOB_ROLE,
        "executionRoleArn": EXECUTION_ROLE,
        "resourceRequirements": [{"type": "VCPU", "value": str(vcpus)}, {"type": "MEMORY", "value": str(memory)}],
        "environment": _env(PIPELINE_STAGE=image, **env),
        "volumes": [],
        "mountPoints": [],
        "ulimits": [],
        "logConfiguration": {"logDriver": "awslogs", "options": {}},
    }


# name -> (containerProperties, retryStrategy, parameters)
JOB_DEFINITIONS: dict[str, tuple[dict[str, Any], dict[str, Any] | None, dict[str, str]]] = {
    "JobA-list-and-validate": (
        _container("list-and-validate", ["python", "-m", "pipeline.list_objects", "Ref::SourceBucket"], 2, 4096,
                   SIM_DURATION_S="600"),
        None, {"SourceBucket": "s3://pipeline-input"}),
    "JobB-CPU-Intensive-Processing": (
        _container("cpu-processing", ["python", "-m", "pipeline.transform"], 32, 4096,
                   SIM_DURATION_S="180", SIM_FAIL_RATE="0.02", SIM_FAIL_KINDS="spot:97,app:3"),
        None, {}),
    "JobC-Memory-Intensive-Processing": (
        _container("memory-processing", ["python", "-m", "pipeline.aggregate"], 1, 32768,
                   SIM_DURATION_S="120", SIM_FAIL_RATE="0.08", SIM_FAIL_KINDS="oom:97,app:3"),
        {"attempts": 2}, {}),
    "JobD-Sequential-Validation": (
        _container("validation", ["python", "-m", "pipeline.validate_step"], 1, 32768, SIM_DURATION_S="60"),
        None, {}),
    "JobE-Cleanup-and-Notification": (
        _container("cleanup", ["python", "-m", "pipeline.cleanup", "Ref::SourceBucket", "Ref::Recipient"], 1, 2048,
                   SIM_DURATION_S="30"),
        None, {}),
}


def reference_requests() -> list[dict[str, Any]]:
    """The SubmitJob bodies of the reference pipeline, with `JobX_job_ID` placeholders for dependency ids."""
    text = importlib_resources.files("batchtui.sim").joinpath("reference-pipeline.json").read_text()
    return json.loads(text)


def register_definitions(engine: Engine) -> None:
    for name, (container, retry, params) in JOB_DEFINITIONS.items():
        if engine.job_definition(name) is None:
            # copies: each engine owns its definitions (a scenario that changes one must not change the module's)
            engine.register_job_definition(name, copy.deepcopy(container), retry_strategy=copy.deepcopy(retry),
                                           parameters=dict(params), tags={"pipeline": "reference"})


# --- scenarios: the default account with something wrong, for `batchtui sim --scenario NAME` --------------------

SCENARIOS = ("stuck-capacity", "blocked-head", "max-vcpus", "invalid-ce", "disabled-ce", "spot-storm", "oom-wave")
SPOT_STORM_RATE = 0.3  # a third of attempts on ProdCE lose their instance
OOM_WAVE_EVERY = 9  # every 9th JobC index runs out of memory
SMALL_C6I = ["c6i.large", "c6i.xlarge", "c6i.2xlarge", "c6i.4xlarge"]  # 16 vCPUs at most: no room for JobB's 32


def prepare(engine: Engine, scenario: str) -> None:
    """Change the default environments (before the pipeline is submitted) so that work sits in RUNNABLE:
    - stuck-capacity: ProdCE may only launch c6i up to .4xlarge, so JobB's 32-vCPU children fit no instance type;
    - blocked-head: a 256-vCPU job reaches the head of ProdQueue first and blocks the pipeline behind it;
    - max-vcpus: ProdCE's maxvCpus is 16, below JobB's 32;
    - invalid-ce: both of ProdQueue's environments are INVALID;
    - disabled-ce: ProdCE is DISABLED, so JobB (too big for ProdMemoryCE) waits with no reason given;
    - spot-storm: ProdCE (SPOT) loses an instance under a third of its attempts (`Host EC2 … terminated.`, retried
      where a retryStrategy allows: JobB has none);
    - oom-wave: every 9th index of JobC runs out of memory (exit 137, OutOfMemoryError)."""
    prod = engine.compute_environments["ProdCE"]
    assert prod.resources is not None
    if scenario == "stuck-capacity":
        engine.update_compute_environment(prod, changes={"instance_types": SMALL_C6I})
        prod.status, prod.status_reason = "VALID", "ComputeEnvironment Healthy"  # as if changed long ago
    elif scenario == "max-vcpus":
        engine.update_compute_environment(prod, changes={"max_vcpus": 16})
        prod.status, prod.status_reason = "VALID", "ComputeEnvironment Healthy"
    elif scenario == "invalid-ce":
        for name in ("ProdCE", "ProdMemoryCE"):
            engine.invalidate_compute_environment(name, "CLIENT_ERROR - The security group sg-0a1b2c3d does not "
                                                        "exist (Service: AmazonEC2; Status Code: 400)")
    elif scenario == "disabled-ce":
        engine.update_compute_environment(prod, state="DISABLED")
    elif scenario == "spot-storm":
        prod.spot_reclaim_rate = SPOT_STORM_RATE
    elif scenario == "oom-wave":
        register_definitions(engine)
        (jobdef,) = [d for d in engine.jobdefs["JobC-Memory-Intensive-Processing"] if d.status == "ACTIVE"][-1:]
        env = [e for e in jobdef.container.get("environment") or () if e.get("name") != "SIM_FAIL_INDICES"]
        waves = f"0-{engine.config.array_size - 1}/{OOM_WAVE_EVERY}:oom"
        jobdef.container = {**jobdef.container, "environment": [*env, {"name": "SIM_FAIL_INDICES", "value": waves}]}
    elif scenario == "blocked-head":
        register_definitions(engine)
        BatchService(engine).call("SubmitJob", {
            "jobName": "Reindex-Everything", "jobQueue": "ProdQueue", "jobDefinition": "JobA-list-and-validate:1",
            "containerOverrides": {"resourceRequirements": [{"type": "VCPU", "value": "256"},
                                                            {"type": "MEMORY", "value": "4096"}]}})
        engine.advance(5)  # RUNNABLE before the pipeline's first job: it is the head
    else:
        raise ValueError(f"unknown scenario {scenario!r} ({', '.join(SCENARIOS)})")


def submit_reference(engine: Engine, array_size: int) -> dict[str, str]:
    """Register the job definitions and submit the five jobs to ProdQueue; returns {JobName: jobId}."""
    register_definitions(engine)
    service = BatchService(engine)
    ids: dict[str, str] = {}
    for request in reference_requests():
        request = json.loads(json.dumps(request))
        if request.get("arrayProperties", {}).get("size") == 10_000:  # JobB and JobC; JobD keeps its 10 steps
            request["arrayProperties"]["size"] = array_size
        for dep in request.get("dependsOn", []):
            if "jobId" in dep:
                dep["jobId"] = ids[dep["jobId"].removesuffix("_job_ID")]
        ids[request["jobName"]] = service.call("SubmitJob", request)["jobId"]
    return ids
