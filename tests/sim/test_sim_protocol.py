"""Protocol details found by auditing the simulator from outside (stock boto3 and raw HTTP) against botocore's models
and the AWS documentation: malformed raw requests are 400s naming the problem, never 500s."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sim_harness import Sim

LOGS_JSON = "application/x-amz-json-1.1"


def raw_post(sim: Sim, path: str, body: Any, target: str | None = None) -> tuple[int, dict[str, str], dict[str, Any]]:
    """POST a JSON body as-is (what botocore would refuse to send); (status, headers, JSON answer)."""
    headers = {"Content-Type": LOGS_JSON if target else "application/json"}
    if target:
        headers["X-Amz-Target"] = target
    request = urllib.request.Request(sim.url + path, data=json.dumps(body).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def client_error(call: Any, **kw: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kw)
    err = info.value.response["Error"]
    return err["Code"], err["Message"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


SUBMIT = {"jobName": "j", "jobQueue": "ProdQueue", "jobDefinition": "sim-work"}


# --- SubmitJob: raw bodies botocore would not send --------------------------------------------------------------


@pytest.mark.parametrize("change, words", [
    ({"dependsOn": [{"jobId": 5}]}, "dependsOn"),
    ({"dependsOn": [{"jobId": ["x"]}]}, "dependsOn"),
    ({"containerOverrides": {"environment": None}}, None),  # JSON null is an absent member: accepted
    ({"containerOverrides": {"environment": [{"name": "A", "value": 5}]}}, "A"),
    ({"containerOverrides": {"resourceRequirements": [{"type": "VCPU", "value": "nan"}]}}, "VCPU"),
    ({"containerOverrides": {"resourceRequirements": [{"type": "MEMORY", "value": "inf"}]}}, "MEMORY"),
    ({"containerOverrides": {"resourceRequirements": [{"type": "VCPU", "value": 2}]}}, "VCPU"),
    ({"containerOverrides": {"command": "echo hi"}}, "command"),
    ({"containerOverrides": {"logConfiguration": "x"}}, None),  # not a ContainerOverrides member: ignored
])
def test_malformed_submissions_are_400s_not_500s(sim: Sim, change: dict[str, Any], words: str | None) -> None:
    status, headers, answer = raw_post(sim, "/v1/submitjob", {**SUBMIT, **change})
    if words is None:
        assert status == 200 and answer["jobName"] == "j"
        return
    assert (status, headers["x-amzn-ErrorType"], answer["__type"]) == (400, "ClientException", "ClientException")
    assert words in answer["message"]


def test_malformed_container_properties_are_refused_at_registration(sim: Sim) -> None:
    body = {"jobDefinitionName": "bad", "type": "container",
            "containerProperties": {"image": "x", "logConfiguration": {"options": {"awslogs-group": 5}}}}
    status, _, answer = raw_post(sim, "/v1/registerjobdefinition", body)
    assert status == 400 and answer["__type"] == "ClientException" and "logDriver" in answer["message"]
    body["containerProperties"] = {"image": "x", "vcpus": None, "environment": None}  # nulls are absent members
    status, _, answer = raw_post(sim, "/v1/registerjobdefinition", body)
    assert status == 200
    assert sim.batch.submit_job(**{**SUBMIT, "jobDefinition": answer["jobDefinitionArn"]})["jobName"] == "j"


# --- ListJobs ------------------------------------------------------------------------------------------------


def test_job_definition_filter_is_case_sensitive(sim: Sim) -> None:
    """AWS: JOB_DEFINITION "is case sensitive ... jd1 matches only jd1" (unlike JOB_NAME)."""
    sim.batch.register_job_definition(jobDefinitionName="Mixed-Def", type="container",
                                      containerProperties={"image": "x"})
    job_id = sim.submit("m", jobDefinition="Mixed-Def")

    def listed(value: str) -> list[str]:
        flt = [{"name": "JOB_DEFINITION", "values": [value]}]
        return [j["jobId"] for j in sim.batch.list_jobs(jobQueue="ProdQueue", filters=flt)["jobSummaryList"]]

    assert listed("Mixed-Def") == [job_id] and listed("Mixed*") == [job_id]
    assert listed("mixed-def") == [] and listed("mixed*") == []
    flt = [{"name": "JOB_NAME", "values": ["M"]}]  # JOB_NAME stays case-insensitive
    assert [j["jobId"] for j in sim.batch.list_jobs(jobQueue="ProdQueue", filters=flt)["jobSummaryList"]] == [job_id]


def test_without_max_results_a_page_holds_up_to_1000_jobs(sim: Sim) -> None:
    """AWS: with jobStatus (or neither parameter) ListJobs returns up to 1000 results; with filters up to 100."""
    gate = sim.submit("gate")
    arr = sim.submit("big", size=250, dependsOn=[{"jobId": gate}])
    sim.advance(5)
    page = sim.batch.list_jobs(arrayJobId=arr, jobStatus="PENDING")
    assert len(page["jobSummaryList"]) == 250 and "nextToken" not in page
    for i in range(105):
        sim.submit(f"many{i}")
    page = sim.batch.list_jobs(jobQueue="ProdQueue", filters=[{"name": "JOB_NAME", "values": ["many*"]}])
    assert len(page["jobSummaryList"]) == 100 and page["nextToken"]


# --- CloudWatch Logs ----------------------------------------------------------------------------------------


def _stream(sim: Sim) -> str:
    job_id = sim.submit("logged")
    sim.advance(300)
    return sim.describe(job_id)["container"]["logStreamName"]


def test_log_group_name_and_identifier_together_are_refused(sim: Sim) -> None:
    """AWS: "You must include either logGroupIdentifier or logGroupName, but not both." (botocore lets both by)."""
    stream = _stream(sim)
    for call, kw in ((sim.logs.get_log_events, {"logStreamName": stream}), (sim.logs.describe_log_streams, {})):
        code, message, status = client_error(call, logGroupName="/aws/batch/job",
                                             logGroupIdentifier="/aws/batch/job", **kw)
        assert (code, status) == ("InvalidParameterException", 400) and "both" in message


def test_an_unknown_log_group_is_resource_not_found(sim: Sim) -> None:
    _stream(sim)
    code, message, status = client_error(sim.logs.describe_log_streams, logGroupName="/no/such/group")
    assert (code, status) == ("ResourceNotFoundException", 400) and "log group" in message
    assert sim.logs.describe_log_streams(logGroupName="/aws/batch/job")["logStreams"]


@pytest.mark.parametrize("target, change, words", [
    ("GetLogEvents", {"startTime": "yesterday"}, "startTime"),
    ("GetLogEvents", {"endTime": [1]}, "endTime"),
    ("DescribeLogStreams", {"logStreamNamePrefix": 5}, "logStreamNamePrefix"),
])
def test_malformed_logs_requests_are_400s_not_500s(sim: Sim, target: str, change: dict[str, Any],
                                                    words: str) -> None:
    body = {"logGroupName": "/aws/batch/job", "logStreamName": _stream(sim), **change}
    if target == "DescribeLogStreams":
        del body["logStreamName"]
    status, _, answer = raw_post(sim, "/", body, target=f"Logs_20140328.{target}")
    assert (status, answer["__type"]) == (400, "InvalidParameterException") and words in answer["message"]


# --- the HTTP layer -------------------------------------------------------------------------------------------


def test_an_oversized_body_is_a_client_exception(sim: Sim) -> None:
    from batchtui.sim.server import MAX_BODY

    status, headers, answer = raw_post(sim, "/v1/listjobs", {"jobQueue": "ProdQueue", "pad": "x" * MAX_BODY})
    assert (status, headers["x-amzn-ErrorType"]) == (400, "ClientException") and "larger" in answer["message"]
    assert sim.batch.list_jobs(jobQueue="ProdQueue")["jobSummaryList"] == []  # and the server goes on
