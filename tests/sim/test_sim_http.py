"""The Batch API over HTTP, through boto3: what botocore sends and parses, rule by rule."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from sim_harness import START_MS, Sim


def error_of(call: Any, **kw: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kw)
    err = info.value.response["Error"]
    return err["Code"], err["Message"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


# --- ListJobs ----------------------------------------------------------------------------------------------


def test_list_without_status_or_filter_returns_running_jobs_only(sim: Sim) -> None:
    running = sim.submit("r")
    sim.advance(30)
    waiting = sim.submit("w", dependsOn=[{"jobId": running}])
    sim.advance(5)
    listed = sim.batch.list_jobs(jobQueue="ProdQueue")["jobSummaryList"]
    assert [j["jobId"] for j in listed] == [running]
    pending = sim.batch.list_jobs(jobQueue="ProdQueue", jobStatus="PENDING")["jobSummaryList"]
    assert [j["jobId"] for j in pending] == [waiting]


def test_exactly_one_of_queue_array_or_multinode(sim: Sim) -> None:
    arr = sim.submit("a", size=2)
    for kw in ({}, {"jobQueue": "ProdQueue", "arrayJobId": arr}):
        code, message, status = error_of(sim.batch.list_jobs, **kw)
        assert (code, status) == ("ClientException", 400) and "Exactly one" in message


def test_queue_listing_has_parents_with_size_and_summary_and_no_children(sim: Sim) -> None:
    arr = sim.submit("arr", size=5)
    plain = sim.submit("plain")
    sim.advance(45)
    listed = {j["jobId"]: j for s in ("RUNNING", "PENDING") for j in
              sim.batch.list_jobs(jobQueue="ProdQueue", jobStatus=s)["jobSummaryList"]}
    assert set(listed) == {arr, plain}
    props = listed[arr]["arrayProperties"]
    assert props["size"] == 5 and set(props["statusSummary"]) >= {"RUNNING", "SUCCEEDED", "FAILED"}
    assert props["statusSummaryLastUpdatedAt"] == START_MS + 30_000
    for summary in listed.values():  # JobSummary fields only
        assert not {"attempts", "dependsOn", "tags", "parameters", "jobQueue"} & set(summary)


def test_array_listing_gives_children_with_their_index(sim: Sim) -> None:
    arr = sim.submit("arr", size=4)
    sim.advance(30)
    kids = sim.batch.list_jobs(arrayJobId=arr, jobStatus="RUNNING")["jobSummaryList"]
    assert [k["jobId"] for k in kids] == [f"{arr}:{i}" for i in range(4)]
    assert [k["arrayProperties"] for k in kids] == [{"index": i} for i in range(4)]
    assert all(k["jobName"] == "arr" and k["startedAt"] > START_MS for k in kids)


def test_pagination_over_1000_item_pages_loses_and_repeats_nothing(sim: Sim) -> None:
    gate = sim.submit("gate")
    arr = sim.submit("big", size=2500, dependsOn=[{"jobId": gate}])
    sim.advance(5)
    pages = []
    token = None
    while True:
        kw = {"arrayJobId": arr, "jobStatus": "PENDING", "maxResults": 1000}
        page = sim.batch.list_jobs(**kw, **({"nextToken": token} if token else {}))
        pages.append([s["arrayProperties"]["index"] for s in page["jobSummaryList"]])
        token = page.get("nextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [1000, 1000, 500]
    flat = [i for p in pages for i in p]
    assert sorted(flat) == list(range(2500)) and len(set(flat)) == 2500


def test_a_token_from_another_listing_is_refused(sim: Sim) -> None:
    gate = sim.submit("gate")
    arr = sim.submit("big", size=30, dependsOn=[{"jobId": gate}])
    sim.advance(5)
    token = sim.batch.list_jobs(arrayJobId=arr, jobStatus="PENDING", maxResults=10)["nextToken"]
    code, _, _ = error_of(sim.batch.list_jobs, arrayJobId=arr, jobStatus="RUNNING", nextToken=token)
    assert code == "ClientException"
    code, _, _ = error_of(sim.batch.list_jobs, arrayJobId=arr, jobStatus="PENDING", nextToken="garbage!")
    assert code == "ClientException"


def test_max_results_limits_1000_with_status_100_with_filters(sim: Sim) -> None:
    assert sim.batch.list_jobs(jobQueue="ProdQueue", jobStatus="RUNNING", maxResults=1000)["jobSummaryList"] == []
    code, message, _ = error_of(sim.raw.list_jobs, jobQueue="ProdQueue", jobStatus="RUNNING", maxResults=1001)
    assert code == "ClientException" and "1,000" in message
    flt = [{"name": "JOB_NAME", "values": ["x"]}]
    assert sim.batch.list_jobs(jobQueue="ProdQueue", filters=flt, maxResults=100)["jobSummaryList"] == []
    code, message, _ = error_of(sim.raw.list_jobs, jobQueue="ProdQueue", filters=flt, maxResults=101)
    assert code == "ClientException" and "100" in message
    code, _, _ = error_of(sim.raw.list_jobs, jobQueue="ProdQueue", maxResults=0)
    assert code == "ClientException"


def test_filters_return_every_status_newest_first_and_ignore_job_status(sim: Sim) -> None:
    first = sim.submit("Nightly-Load")
    sim.advance(120)  # first has SUCCEEDED
    second = sim.submit("nightly-transform")
    third = sim.submit("other")
    sim.advance(1)
    by_name = sim.batch.list_jobs(jobQueue="ProdQueue", jobStatus="RUNNING",
                                  filters=[{"name": "JOB_NAME", "values": ["NIGHTLY*"]}])["jobSummaryList"]
    assert [j["jobId"] for j in by_name] == [second, first]
    assert [j["status"] for j in by_name] == ["SUBMITTED", "SUCCEEDED"]
    exact = sim.batch.list_jobs(jobQueue="ProdQueue", filters=[{"name": "JOB_NAME", "values": ["OTHER"]}])
    assert [j["jobId"] for j in exact["jobSummaryList"]] == [third]
    after = sim.batch.list_jobs(jobQueue="ProdQueue", filters=[
        {"name": "AFTER_CREATED_AT", "values": [str(START_MS + 60_000)]}])["jobSummaryList"]
    assert [j["jobId"] for j in after] == [third, second]
    before = sim.batch.list_jobs(jobQueue="ProdQueue", filters=[
        {"name": "BEFORE_CREATED_AT", "values": [str(START_MS + 60_000)]}])["jobSummaryList"]
    assert [j["jobId"] for j in before] == [first]
    by_def = sim.batch.list_jobs(jobQueue="ProdQueue", filters=[
        {"name": "JOB_DEFINITION", "values": ["sim-work:1"]}])["jobSummaryList"]
    assert [j["jobId"] for j in by_def] == [third, second, first]
    code, _, _ = error_of(sim.batch.list_jobs, jobQueue="ProdQueue",
                          filters=[{"name": "AFTER_CREATED_AT", "values": ["yesterday"]}])
    assert code == "ClientException"


def test_filtered_pages_of_100(sim: Sim) -> None:
    ids = [sim.submit(f"batch-{i}") for i in range(130)]
    pages = list(sim.batch.get_paginator("list_jobs").paginate(
        jobQueue="ProdQueue", filters=[{"name": "JOB_NAME", "values": ["batch-*"]}],
        PaginationConfig={"PageSize": 100}))
    got = [j["jobId"] for p in pages for j in p["jobSummaryList"]]
    assert [len(p["jobSummaryList"]) for p in pages] == [100, 30]
    assert got == ids[::-1]


def test_unknown_queue_is_a_client_exception(sim: Sim) -> None:
    code, message, _ = error_of(sim.batch.list_jobs, jobQueue="NoSuchQueue", jobStatus="RUNNING")
    assert code == "ClientException" and "NoSuchQueue" in message


# --- DescribeJobs ------------------------------------------------------------------------------------------


def test_describe_takes_at_most_100_ids_and_leaves_unknown_ones_out(sim: Sim) -> None:
    arr = sim.submit("arr", size=150)
    ids = [f"{arr}:{i}" for i in range(100)]
    assert len(sim.batch.describe_jobs(jobs=ids)["jobs"]) == 100
    code, message, _ = error_of(sim.batch.describe_jobs, jobs=[*ids, f"{arr}:100"])
    assert code == "ClientException" and "100" in message
    got = sim.batch.describe_jobs(jobs=[arr, "no-such-job", f"{arr}:149", f"{arr}:150"])["jobs"]
    assert [j["jobId"] for j in got] == [arr, f"{arr}:149"]


def test_describe_gives_the_full_detail_with_overrides_merged(sim: Sim) -> None:
    job_id = sim.submit("detail", env={"EXTRA": "1", "SIM_DURATION_S": "90"}, parameters={"p": "v"},
                        tags={"team": "data"}, retryStrategy={"attempts": 2},
                        containerOverrides={"environment": [{"name": "SIM_DURATION_S", "value": "90"}],
                                            "resourceRequirements": [{"type": "MEMORY", "value": "4096"}]})
    sim.advance(30)
    d = sim.describe(job_id)
    assert d["jobQueue"].endswith(":job-queue/ProdQueue") and d["jobDefinition"].endswith("job-definition/sim-work:1")
    assert d["status"] == "RUNNING" and d["parameters"] == {"p": "v"} and d["tags"] == {"team": "data"}
    env = {e["name"]: e["value"] for e in d["container"]["environment"]}
    assert env == {"SIM_DURATION_S": "90"}
    req = {r["type"]: r["value"] for r in d["container"]["resourceRequirements"]}
    assert req == {"VCPU": "1", "MEMORY": "4096"}
    assert d["container"]["logStreamName"].startswith("sim-work/default/")
    assert len(d["attempts"]) == 1 and "stoppedAt" not in d["attempts"][0]
    assert d["retryStrategy"] == {"attempts": 2} and d["createdAt"] == START_MS
    assert d["isCancelled"] is False and d["isTerminated"] is False


def test_children_describe_their_index_and_per_index_dependencies(sim: Sim) -> None:
    b = sim.submit("b", size=3)
    c = sim.submit("c", size=3, dependsOn=[{"jobId": b, "type": "N_TO_N"}, {"type": "SEQUENTIAL"}])
    d = sim.describe(f"{c}:2")
    assert d["arrayProperties"] == {"index": 2}
    assert d["dependsOn"] == [{"jobId": f"{b}:2", "type": "N_TO_N"}, {"jobId": f"{c}:1", "type": "SEQUENTIAL"}]
    parent = sim.describe(c)
    assert parent["arrayProperties"]["size"] == 3 and "statusSummary" in parent["arrayProperties"]
    assert parent["dependsOn"] == [{"jobId": b, "type": "N_TO_N"}, {"type": "SEQUENTIAL"}]


def test_failed_child_reports_exit_code_and_reason(sim: Sim) -> None:
    arr = sim.submit("arr", size=3, env={"SIM_FAIL_INDICES": "1"})
    sim.advance(300)
    d = sim.describe(f"{arr}:1")
    assert d["status"] == "FAILED" and d["statusReason"] == "Essential container in task exited"
    assert d["container"]["exitCode"] in (1, 137) and d["attempts"][0]["container"]["exitCode"] in (1, 137)
    summary = sim.batch.list_jobs(arrayJobId=arr, jobStatus="FAILED")["jobSummaryList"][0]
    assert summary["container"]["exitCode"] == d["container"]["exitCode"]


def test_an_n_to_n_partner_fails_as_soon_as_its_index_fails_not_when_the_array_ends(sim: Sim) -> None:
    # index 1 cannot pull its image (it fails within seconds); the others run about ten minutes
    b = sim.submit("b", size=4, env={"SIM_FAIL_INDICES": "1:start", "SIM_DURATION_S": "600"})
    c = sim.submit("c", size=4, dependsOn=[{"jobId": b, "type": "N_TO_N"}])
    sim.advance(60)
    assert sim.status(f"{b}:1") == "FAILED" and sim.status(b) == "PENDING"  # the upstream array is still running
    failed = sim.batch.list_jobs(arrayJobId=c, jobStatus="FAILED")["jobSummaryList"]
    assert [s["arrayProperties"]["index"] for s in failed] == [1]
    partner = sim.describe(f"{c}:1")
    assert partner["attempts"] == [] and "startedAt" not in partner  # it never ran
    assert partner["stoppedAt"] == sim.describe(f"{b}:1")["stoppedAt"]  # at the same moment, not later
    assert [sim.status(f"{c}:{i}") for i in (0, 2, 3)] == ["PENDING"] * 3
    sim.advance(1800)
    assert [sim.status(f"{c}:{i}") for i in range(4)] == ["SUCCEEDED", "FAILED", "SUCCEEDED", "SUCCEEDED"]


def test_a_standard_dependent_fails_as_soon_as_its_dependency_fails(sim: Sim) -> None:
    first = sim.submit("first", env={"SIM_FAIL_INDICES": "-1:start"})  # a plain job is index -1 to the simulator
    after = sim.submit("after", dependsOn=[{"jobId": first}])
    sim.advance(5)
    assert sim.status(after) == "PENDING"
    sim.advance(30)
    assert sim.status(first) == "FAILED"
    assert sim.status(after) == "FAILED" and sim.describe(after)["attempts"] == []


def test_more_than_50_propagated_tags_fail_the_job_and_50_run(sim: Sim) -> None:
    container = {"image": "busybox", "resourceRequirements": [{"type": "VCPU", "value": "1"},
                                                              {"type": "MEMORY", "value": "512"}],
                 "environment": [{"name": "SIM_DURATION_S", "value": "30"}]}
    sim.batch.register_job_definition(jobDefinitionName="tagged", type="container", containerProperties=container,
                                      tags={f"def{i}": "d" for i in range(30)})
    job_tags = {f"job{i}": "j" for i in range(20)}
    at_limit = sim.submit("at-limit", jobDefinition="tagged", tags=job_tags, propagateTags=True)
    over = sim.submit("over", jobDefinition="tagged", tags={**job_tags, "one-more": "x"}, propagateTags=True)
    shared = sim.submit("shared", jobDefinition="tagged", tags={**job_tags, "def0": "job wins"}, propagateTags=True)
    unpropagated = sim.submit("kept", jobDefinition="tagged", tags={**job_tags, "one-more": "x"})
    arr = sim.submit("over-array", size=2, jobDefinition="tagged", tags={**job_tags, "one-more": "x"},
                     propagateTags=True)
    sim.advance(300)
    assert [sim.status(j) for j in (at_limit, shared, unpropagated)] == ["SUCCEEDED"] * 3
    detail = sim.describe(over)
    assert detail["status"] == "FAILED" and detail["attempts"] == [] and "startedAt" not in detail
    assert "51 tags" in detail["statusReason"] and "50" in detail["statusReason"]
    assert sim.status(arr) == "FAILED"
    assert [sim.status(f"{arr}:{i}") for i in range(2)] == ["FAILED", "FAILED"]
    # a job definition that propagates its own tags counts them too
    sim.batch.register_job_definition(jobDefinitionName="tagged", type="container", containerProperties=container,
                                      tags={f"def{i}": "d" for i in range(50)}, propagateTags=True)
    by_definition = sim.submit("by-definition", jobDefinition="tagged", tags={"team": "data"})
    sim.advance(60)
    assert sim.status(by_definition) == "FAILED"
    assert "51 tags" in sim.describe(by_definition)["statusReason"]


# --- SubmitJob validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize("change, words", [
    ({"jobQueue": "Nope"}, "Nope"),
    ({"jobDefinition": "missing-def"}, "missing-def"),
    ({"arrayProperties": {"size": 1}}, "between 2 and 10,000"),
    ({"arrayProperties": {"size": 10_001}}, "between 2 and 10,000"),
    ({"dependsOn": [{"jobId": "no-such-job"}]}, "no-such-job"),
    ({"dependsOn": [{"type": "SEQUENTIAL"}]}, "array"),
    ({"containerOverrides": {"environment": [{"name": "AWS_BATCH_JOB_ARRAY_INDEX", "value": "3"}]}}, "AWS_BATCH"),
    ({"jobName": "bad name!"}, "jobName"),
])
def test_bad_submissions_are_client_exceptions_naming_the_problem(sim: Sim, change: dict, words: str) -> None:
    body = {"jobName": "j", "jobQueue": "ProdQueue", "jobDefinition": "sim-work", **change}
    code, message, status = error_of(sim.raw.submit_job, **body)
    assert (code, status) == ("ClientException", 400) and words in message


def test_n_to_n_needs_arrays_of_the_same_size(sim: Sim) -> None:
    b = sim.submit("b", size=3)
    plain = sim.submit("p")
    body = {"jobName": "c", "jobQueue": "ProdQueue", "jobDefinition": "sim-work"}
    code, message, _ = error_of(sim.batch.submit_job, **body, arrayProperties={"size": 4},
                                dependsOn=[{"jobId": b, "type": "N_TO_N"}])
    assert code == "ClientException" and "same size" in message
    code, message, _ = error_of(sim.batch.submit_job, **body, arrayProperties={"size": 3},
                                dependsOn=[{"jobId": plain, "type": "N_TO_N"}])
    assert code == "ClientException" and "array" in message
    code, message, _ = error_of(sim.batch.submit_job, **body, dependsOn=[{"jobId": b, "type": "N_TO_N"}])
    assert code == "ClientException" and "array" in message


def test_at_most_20_dependencies(sim: Sim) -> None:
    deps = [{"jobId": sim.submit(f"d{i}")} for i in range(21)]
    body = {"jobName": "c", "jobQueue": "ProdQueue", "jobDefinition": "sim-work"}
    code, message, _ = error_of(sim.batch.submit_job, **body, dependsOn=deps)
    assert code == "ClientException" and "20" in message
    assert sim.batch.submit_job(**body, dependsOn=deps[:20])["jobName"] == "c"


# --- cancel and terminate ----------------------------------------------------------------------------------


def test_reason_is_required_and_at_most_1024_characters(sim: Sim) -> None:
    job_id = sim.submit("j")
    for call in (sim.raw.cancel_job, sim.raw.terminate_job):
        code, message, _ = error_of(call, jobId=job_id)
        assert code == "ClientException" and "reason" in message
        code, message, _ = error_of(call, jobId=job_id, reason="x" * 1025)
        assert code == "ClientException" and "1,024" in message
    code, _, _ = error_of(sim.raw.cancel_jobs, jobs=[job_id])
    assert code == "ClientException"
    assert sim.status(job_id) == "SUBMITTED"


def test_cancel_and_terminate_over_http(sim: Sim) -> None:
    runnable = sim.submit("big", containerOverrides={"resourceRequirements": [{"type": "VCPU", "value": "99999"}]})
    running = sim.submit("run")
    sim.advance(30)
    assert (sim.status(runnable), sim.status(running)) == ("RUNNABLE", "RUNNING")
    sim.batch.cancel_job(jobId=runnable, reason="no room")
    sim.batch.cancel_job(jobId=running, reason="too late")  # succeeds, changes nothing
    assert sim.describe(runnable)["statusReason"] == "no room" and sim.describe(runnable)["isCancelled"]
    assert sim.status(running) == "RUNNING"
    sim.batch.terminate_job(jobId=running, reason="stop now")
    d = sim.describe(running)
    assert d["status"] == "FAILED" and d["statusReason"] == "stop now" and d["isTerminated"]


def test_bulk_cancel_answers_successful_and_errors_and_takes_at_most_50(sim: Sim) -> None:
    arr = sim.submit("arr", size=60)
    ids = [f"{arr}:{i}" for i in range(3)]
    answer = sim.raw.cancel_jobs(jobs=[*ids, "unknown-id", ""], reason="bulk")
    assert answer["successful"] == [*ids, "unknown-id"]
    assert [(e["job"], e["code"]) for e in answer["errors"]] == [("", "ValidationException")]
    assert all(sim.status(i) == "FAILED" for i in ids) and sim.status(f"{arr}:3") == "SUBMITTED"
    code, message, _ = error_of(sim.batch.terminate_jobs, jobs=[f"{arr}:{i}" for i in range(51)], reason="x")
    assert code == "ClientException" and "50" in message
    answer = sim.batch.terminate_jobs(jobs=[arr], reason="all of it")
    assert answer["successful"] == [arr] and answer["errors"] == []
    sim.advance(5)
    assert sim.status(arr) == "FAILED"
    assert {c["statusReason"] for c in sim.children(arr, "FAILED")} == {"bulk", "all of it"}


# --- queues, job definitions, tags ----------------------------------------------------------------------------


def test_job_queues_prod_and_other_unknown_left_out(sim: Sim) -> None:
    queues = sim.batch.describe_job_queues(jobQueues=["ProdQueue", "Missing", "OtherQueue"])["jobQueues"]
    assert [q["jobQueueName"] for q in queues] == ["ProdQueue", "OtherQueue"]
    assert queues[0]["state"] == "ENABLED" and queues[0]["status"] == "VALID"
    assert sim.batch.describe_job_queues(jobQueues=["Missing"])["jobQueues"] == []
    other = sim.submit("elsewhere", queue="OtherQueue")
    assert sim.describe(other)["jobQueue"].endswith("job-queue/OtherQueue")


def test_job_definition_revisions(sim: Sim) -> None:
    def register() -> dict:
        return sim.batch.register_job_definition(
            jobDefinitionName="etl", type="container", containerProperties={
                "image": "etl:1", "resourceRequirements": [{"type": "VCPU", "value": "2"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/etl"}}})

    first, second = register(), register()
    assert (first["revision"], second["revision"]) == (1, 2)
    assert second["jobDefinitionArn"].endswith(":job-definition/etl:2")
    defs = sim.batch.describe_job_definitions(jobDefinitionName="etl")["jobDefinitions"]
    assert [(d["revision"], d["status"]) for d in defs] == [(1, "ACTIVE"), (2, "ACTIVE")]
    assert defs[0]["containerProperties"]["logConfiguration"]["options"] == {"awslogs-group": "/etl"}
    job_id = sim.submit("uses-latest", jobDefinition="etl")
    assert sim.describe(job_id)["jobDefinition"].endswith("etl:2")


def test_tags_on_jobs(sim: Sim) -> None:
    job_id = sim.submit("tagged", tags={"a": "1"})
    job_arn = sim.describe(job_id)["jobArn"]
    sim.batch.tag_resource(resourceArn=job_arn, tags={"b": "2"})
    assert sim.batch.list_tags_for_resource(resourceArn=job_arn)["tags"] == {"a": "1", "b": "2"}
    sim.batch.untag_resource(resourceArn=job_arn, tagKeys=["a"])
    assert sim.batch.list_tags_for_resource(resourceArn=job_arn)["tags"] == {"b": "2"}
    code, _, _ = error_of(sim.batch.list_tags_for_resource,
                          resourceArn="arn:aws:batch:us-east-1:123456789012:job/nope")
    assert code == "ClientException"


# --- CloudWatch Logs ------------------------------------------------------------------------------------------


def test_log_events_forward_backward_and_the_end_token(sim: Sim) -> None:
    job_id = sim.submit("logged")
    sim.advance(300)
    stream = sim.describe(job_id)["container"]["logStreamName"]
    group = "/aws/batch/job"
    everything = sim.logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    lines = [e["message"] for e in everything["events"]]
    assert len(lines) >= 5 and "starting logged" in lines[0] and "done in" in lines[-1]
    first = sim.logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, limit=3)
    rest = sim.logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=first["nextForwardToken"])
    assert [e["message"] for e in first["events"] + rest["events"]] == lines
    end = sim.logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=rest["nextForwardToken"])
    assert end["events"] == [] and end["nextForwardToken"] == rest["nextForwardToken"]
    tail = sim.logs.get_log_events(logGroupName=group, logStreamName=stream, limit=2)  # default: the newest
    assert [e["message"] for e in tail["events"]] == lines[-2:]
    back = sim.logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=tail["nextBackwardToken"],
                                   limit=2)
    assert [e["message"] for e in back["events"]] == lines[-4:-2]
    assert all(tail["nextForwardToken"].startswith("f/") for _ in [0]) and back["nextBackwardToken"].startswith("b/")


def test_a_running_attempts_log_grows_with_the_clock(sim: Sim) -> None:
    job_id = sim.submit("growing", env={"SIM_DURATION_S": "600"})
    sim.advance(60)
    stream = sim.describe(job_id)["container"]["logStreamName"]
    kw = {"logGroupName": "/aws/batch/job", "logStreamName": stream, "startFromHead": True}
    early = sim.logs.get_log_events(**kw)
    sim.advance(700)
    later = sim.logs.get_log_events(**kw)
    assert 0 < len(early["events"]) < len(later["events"])


def test_failed_attempts_end_with_their_last_words(sim: Sim) -> None:
    arr = sim.submit("dies", size=12, env={"SIM_FAIL_RATE": "1"})
    sim.advance(300)
    endings = set()
    for child in sim.children(arr, "FAILED"):
        d = sim.describe(child["jobId"])
        events = sim.logs.get_log_events(logGroupName="/aws/batch/job", logStreamName=d["container"]["logStreamName"],
                                         startFromHead=True)["events"]
        last = events[-1]["message"]
        if d["container"]["exitCode"] == 137:
            assert last == "Killed" and d["container"]["reason"].startswith("OutOfMemoryError")
        else:
            assert last.startswith("ValueError:") and any(e["message"].startswith("Traceback") for e in events)
        endings.add(d["container"]["exitCode"])
    assert endings == {1, 137}


def test_log_streams_by_prefix_and_a_custom_group(sim: Sim) -> None:
    sim.batch.register_job_definition(jobDefinitionName="grouped", type="container", containerProperties={
        "image": "x", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/custom"}}})
    job_id = sim.submit("g", jobDefinition="grouped")
    sim.submit("other")
    sim.advance(30)
    stream = sim.describe(job_id)["container"]["logStreamName"]
    found = sim.logs.describe_log_streams(logGroupName="/custom", logStreamNamePrefix="grouped/")["logStreams"]
    assert [s["logStreamName"] for s in found] == [stream]
    assert sim.logs.describe_log_streams(logGroupName="/aws/batch/job", logStreamNamePrefix="grouped/")[
        "logStreams"] == []
    with pytest.raises(ClientError) as info:
        sim.logs.get_log_events(logGroupName="/aws/batch/job", logStreamName=stream)
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
