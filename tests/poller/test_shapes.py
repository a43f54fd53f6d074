"""The boundary (batchtui/shapes.py): DescribeJobs and GetLogEvents answers read into typed records, odd ones too."""

from batchtui.model import EnvVar, Resource, RetryTimeout, Status
from batchtui.shapes import (
    container_settings,
    fields_from_detail,
    is_child,
    job_description,
    job_id_of,
    job_timeout,
    lists_status_summary,
    log_page,
    next_token,
    retry_timeout,
    summaries,
    tag_value,
)


def test_a_failed_child_is_read_whole():
    d = job_description({
        "jobId": "a1:3", "jobName": "JobB", "status": "FAILED", "statusReason": "Essential container exited",
        "jobQueue": "arn:aws:batch:us-east-1:1:job-queue/ProdQueue", "parameters": {"n": 3},
        "createdAt": 1000, "startedAt": "2000", "stoppedAt": 3000,
        "container": {"exitCode": 137, "reason": "OutOfMemoryError", "vcpus": 2, "memory": "4096",
                      "command": ["run", 3], "environment": [{"name": "A", "value": "1"}, "junk"],
                      "resourceRequirements": [{"type": "GPU", "value": "1"}],
                      "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/custom"}}},
        "attempts": [{"container": {"exitCode": 137, "logStreamName": "s/1"}, "startedAt": 2000}],
        "retryStrategy": {"attempts": 3}, "timeout": {"attemptDurationSeconds": 600},
    })
    assert (d.job_id, d.job_name, d.status, d.exit_code, d.reason) == ("a1:3", "JobB", Status.FAILED, 137,
                                                                       "OutOfMemoryError")
    assert (d.created_at, d.started_at, d.stopped_at) == (1000, 2000, 3000)
    assert dict(d.parameters) == {"n": "3"}
    assert d.container.command == ("run", "3") and d.container.environment == (EnvVar("A", "1"),)
    assert d.container.resources == (Resource("GPU", "1"),) and (d.container.vcpus, d.container.memory) == (2, 4096)
    assert d.log_group == "/custom" and d.log_stream == "s/1"  # no stream on the container: the latest attempt's
    assert d.attempts is not None and d.attempts[0].exit_code == 137
    assert d.retry_timeout == RetryTimeout(True, 3, True, 600)


def test_missing_and_odd_fields_do_not_raise():
    d = job_description({"jobId": "x", "status": "NOPE", "container": "junk", "parameters": ["a"],
                         "retryStrategy": {}, "attempts": None})
    assert d.status is Status.UNKNOWN and d.job_name is None and not d.container and d.attempts is None
    assert d.log_group is None and d.log_stream is None and not d.parameters
    assert d.retry_timeout == RetryTimeout()  # an empty retryStrategy is not shown


def test_another_log_driver_has_no_awslogs_group():
    d = job_description({"jobId": "x", "container": {"logConfiguration": {"logDriver": "splunk",
                                                                          "options": {"awslogs-group": "/g"}}}})
    assert d.log_group is None


def test_container_overrides_and_retry_of_a_kept_job():
    assert not container_settings(None)
    assert container_settings({"command": ["a"]}).command == ("a",)
    assert retry_timeout(None, job_timeout({"attemptDurationSeconds": "60"})) == RetryTimeout(False, None, True, 60)


def test_a_log_page():
    page = log_page({"events": [{"timestamp": 5, "message": "hi\n"}, {"timestamp": "x"}, 7],
                     "nextForwardToken": "f/1"})
    assert [(e.timestamp, e.message) for e in page.events] == [(5, "hi\n"), (None, "")]
    assert page.next_token == "f/1"
    assert log_page({}).events == () and log_page({}).next_token is None


def test_listing_pages_and_entries():
    page = {"jobSummaryList": [{"jobId": "a"}, "junk", {"jobId": "p:3"},
                               {"jobId": "c", "arrayProperties": {"index": 0}}, {"jobId": ""}], "nextToken": 7}
    found = summaries(page)
    assert [job_id_of(s) for s in found] == ["a", "p:3", "c", None]
    assert [is_child(s) for s in found[:3]] == [False, True, True]
    assert next_token(page) == 7 and summaries({}) == [] and summaries({"jobSummaryList": "x"}) == []
    assert lists_status_summary({"arrayProperties": {"statusSummary": {}}})
    assert not lists_status_summary({"arrayProperties": {"size": 2}}) and not lists_status_summary({})
    assert tag_value({"tags": {"k": "v", "n": 1}}, "k") == "v"
    assert tag_value({"tags": {"n": 1}}, "n") is None and tag_value({"tags": "x"}, "k") is None


def test_a_describe_jobs_entry_in_odd_shapes_is_read_without_raising():
    fields = fields_from_detail({"jobId": "j", "status": "FAILED", "container": "junk", "parameters": ["a"],
                                 "dependsOn": "x", "tags": {"team": 1, "none": None}, "attempts": {"a": 1},
                                 "createdAt": float("inf"), "arrayProperties": []})
    assert fields["status"] is Status.FAILED and fields["created_at"] is None and "array_size" not in fields
    assert dict(fields["parameters"]) == {} and dict(fields["tags"]) == {"team": "1"}  # strings, as SubmitJob takes
    assert fields["depends_on"] == () and fields["attempts"] == () and fields["container_overrides"] is None


def test_a_log_event_without_a_message_is_an_empty_line():
    assert [e.message for e in log_page({"events": [{"timestamp": 1, "message": None}, {"message": 0}]}).events] == \
        ["", "0"]
