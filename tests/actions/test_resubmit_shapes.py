"""A resubmission is faithful: retryStrategy, timeout and containerOverrides, in any shape the AWS docs allow, read
into the model (shapes.py) and given back as a SubmitJob request (`request()`, then plan.py) equal the original –
minus the AWS_BATCH_* variables AWS sets itself – and keys this version does not know go back too."""

from __future__ import annotations

import copy

from actions_factory import plain, snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

from batchtui.model import Job, Status
from batchtui.plan import Selection
from batchtui.retry_plan import plan_retry
from batchtui.shapes import container_overrides, fields_from_detail, job_timeout, retry_strategy

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
NAME = st.from_regex(r"[A-Z][A-Z0-9_]{0,10}", fullmatch=True).filter(lambda n: not n.startswith("AWS_BATCH_"))
JSON = st.recursive(st.none() | st.booleans() | st.integers() | TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                    max_leaves=6)


def optional(**fields: st.SearchStrategy) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({}, optional=fields)


# The documented shapes (Batch API reference: RetryStrategy, EvaluateOnExit, JobTimeout, ContainerOverrides,
# KeyValuePair, ResourceRequirement).
EXIT_RULE = st.fixed_dictionaries({"action": st.sampled_from(["RETRY", "EXIT", "retry", "exit"])},
                                  optional={"onStatusReason": TEXT, "onReason": TEXT,
                                            "onExitCode": st.from_regex(r"[0-9]{1,3}\*?", fullmatch=True)})
RETRY = optional(attempts=st.integers(1, 10), evaluateOnExit=st.lists(EXIT_RULE, max_size=5))
TIMEOUT = optional(attemptDurationSeconds=st.integers(60, 10**7))
ENV = st.fixed_dictionaries({}, optional={"name": NAME, "value": TEXT})
RESOURCE = st.fixed_dictionaries({"type": st.sampled_from(["GPU", "VCPU", "MEMORY"]),
                                  "value": st.from_regex(r"[0-9]{1,5}(\.[0-9]{1,2})?", fullmatch=True)})
OVERRIDES = optional(command=st.lists(TEXT.filter(bool), min_size=1, max_size=4),
                     environment=st.lists(ENV, min_size=1, max_size=4),
                     resourceRequirements=st.lists(RESOURCE, min_size=1, max_size=3),
                     instanceType=st.sampled_from(["p3.2xlarge", "c6i.large"]), vcpus=st.integers(1, 256),
                     memory=st.integers(4, 10**6))


def with_unknown(shape: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    """The shape with keys AWS may add one day (a name no documented field has), any JSON as their value."""
    unknown = st.dictionaries(st.from_regex(r"new[A-Z][a-z]{1,8}", fullmatch=True),
                              JSON.filter(lambda v: v is not None), min_size=1, max_size=3)
    return st.tuples(shape, unknown).map(lambda t: {**t[0], **t[1]})


@settings(max_examples=200, deadline=None)
@given(RETRY, TIMEOUT, OVERRIDES)
def test_every_documented_shape_reads_and_gives_back_the_same_request(retry, timeout, overrides):
    assert retry_strategy(retry).request() == retry
    assert job_timeout(timeout).request() == timeout
    assert container_overrides(overrides).request() == overrides


@settings(max_examples=200, deadline=None)
@given(with_unknown(RETRY), with_unknown(TIMEOUT), with_unknown(OVERRIDES),
       with_unknown(EXIT_RULE), with_unknown(ENV))
def test_keys_this_version_does_not_know_are_kept_and_sent_back(retry, timeout, overrides, rule, env):
    retry = {**retry, "evaluateOnExit": [rule]}
    overrides = {**overrides, "environment": [env]}
    before = copy.deepcopy((retry, timeout, overrides))
    read = retry_strategy(retry), job_timeout(timeout), container_overrides(overrides)
    assert all(r is not None and r.extra for r in read)
    assert tuple(r.request() for r in read) == before
    assert (retry, timeout, overrides) == before  # reading did not change the answer


def test_a_known_key_in_a_shape_this_version_cannot_read_is_kept_verbatim_not_dropped():
    odd = {"attempts": "three", "evaluateOnExit": "junk"}
    read = retry_strategy(odd)
    assert read is not None and read.attempts is None and read.evaluate_on_exit is None
    assert read.request() == odd
    # a number sent as text is read as the number botocore wants
    assert job_timeout({"attemptDurationSeconds": "60"}).request() == {"attemptDurationSeconds": 60}
    assert container_overrides({"resourceRequirements": [{"type": "MEMORY", "value": 4096}]}).request() == \
        {"resourceRequirements": [{"type": "MEMORY", "value": "4096"}]}


def resubmitted(job: Job) -> dict:
    (call,) = plan_retry(snapshot(job), Selection(job.job_id)).calls
    return call.params


@settings(max_examples=100, deadline=None)
@given(with_unknown(RETRY) | RETRY, TIMEOUT.filter(bool), OVERRIDES.filter(bool),
       st.lists(st.sampled_from(["AWS_BATCH_JOB_ID", "AWS_BATCH_JQ_NAME", "AWS_BATCH_CE_NAME"]), max_size=3))
def test_a_retry_sends_what_the_job_ran_with_minus_the_aws_batch_variables(retry, timeout, overrides, reserved):
    overrides = {**overrides, "environment": [*overrides.get("environment", ()),
                                              *({"name": n, "value": "x"} for n in reserved)]}
    job = plain("J", Status.FAILED, name="Job", retry_strategy=retry_strategy(retry), timeout=job_timeout(timeout),
                container_overrides=container_overrides(overrides))
    p = resubmitted(job)
    if retry:  # an empty retryStrategy is not sent (AWS omits it too)
        assert p["retryStrategy"] == retry
    else:
        assert "retryStrategy" not in p
    assert p["timeout"] == timeout
    kept_env = [e for e in overrides["environment"] if not e.get("name", "").startswith("AWS_BATCH_")]
    want = {k: v for k, v in overrides.items() if k != "environment"} | ({"environment": kept_env} if kept_env else {})
    assert p.get("containerOverrides", {}) == want


@settings(max_examples=100, deadline=None)
@given(RETRY.filter(bool), TIMEOUT.filter(bool), OVERRIDES, st.dictionaries(
    st.sampled_from(["image", "vcpus", "memory", "jobRoleArn", "exitCode", "logStreamName"]), TEXT, max_size=4))
def test_from_describe_jobs_to_the_retry(retry, timeout, overrides, definition_fields):
    """DescribeJobs' container is the definition merged with the overrides: a retry carries its command,
    environment and resourceRequirements (the definition gives the rest again), retryStrategy and timeout whole."""
    container = {**definition_fields, **{k: v for k, v in overrides.items()
                                         if k in ("command", "environment", "resourceRequirements")}}
    described = {"jobId": "J", "jobName": "Job", "status": "FAILED", "jobQueue": "q", "jobDefinition": "jd:1",
                 "container": container, "retryStrategy": retry, "timeout": timeout}
    p = resubmitted(Job("J", **fields_from_detail(described)))
    assert p["retryStrategy"] == retry and p["timeout"] == timeout
    assert p.get("containerOverrides", {}) == {k: v for k, v in container.items()
                                               if k in ("command", "environment", "resourceRequirements")}
