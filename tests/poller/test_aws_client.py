"""The client layer against a tiny canned-answer HTTP server: error mapping, retries, the budget, counting."""

from __future__ import annotations

import asyncio
import json
import random
import time
from contextlib import AsyncExitStack

import pytest
from aiohttp import web
from loopback import serve

from batchtui.aws import BulkResult, LogStreamNotFound, ServerError, is_transient, open_api, redact, safe_url
from batchtui.budget import TokenBucket
from batchtui.errors import (
    AccessDenied,
    ApiError,
    BatchtuiError,
    CredentialsError,
    EndpointUnreachable,
    Throttled,
    UnknownQueue,
)


@pytest.fixture(autouse=True)
def example_keys(dummy_credentials, monkeypatch):
    """AWS's documented example keys, not `test`: the redaction tests look for what a request was signed with."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


class Canned:
    """Answers each request with the next canned (status, error type, body) – the last one repeats."""

    def __init__(self, *answers: tuple[int, str | None, dict]) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, dict, dict]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((request.path, dict(request.headers), json.loads(body or b"{}")))
        status, etype, payload = self.answers[0] if len(self.answers) == 1 else self.answers.pop(0)
        headers = {"x-amzn-ErrorType": etype} if etype else {}
        if etype:
            payload = {"__type": etype, **payload}
        return web.json_response(payload, status=status, headers=headers)


@pytest.fixture
async def server():
    async with AsyncExitStack() as servers:
        async def start(*answers):
            canned = Canned(*answers)
            return canned, await servers.enter_async_context(serve(canned.handle))

        yield start


def api(url, **kw):
    kw.setdefault("max_tps", 1000.0)
    return open_api(endpoint_url=url, **kw)


async def test_throttling_is_retried_counted_and_reported_after_bounded_retries(server):
    canned, url = await server((429, "TooManyRequestsException", {"message": "Too Many Requests"}))
    async with api(url, max_attempts=3) as a:
        a.deadline = time.monotonic()  # no patience beyond botocore's own attempts
        with pytest.raises(Throttled) as e:
            await a.list_jobs(jobQueue="ProdQueue")
        assert a.calls == 3 and a.throttled == 3  # each attempt passed the budget and was counted
    assert "share the account" in str(e.value) and is_transient(e.value)


async def test_throttling_beyond_botocores_attempts_is_waited_out_until_the_deadline(server, monkeypatch):
    from batchtui import aws

    monkeypatch.setattr(aws, "READ_BACKOFF_S", (0.05, 0.2))
    throttled = (429, "TooManyRequestsException", {"message": "Too Many Requests"})
    canned, url = await server(*[throttled] * 7, (200, None, {"jobSummaryList": [{"jobId": "j", "jobName": "n"}]}))
    async with api(url, max_attempts=2) as a:
        a.deadline = time.monotonic() + 30
        page = await a.list_jobs(jobQueue="ProdQueue")
        assert page["jobSummaryList"][0]["jobId"] == "j"
        assert a.calls == 8 and a.throttled == 7 and a.retrying == 3  # 4 rounds of botocore's 2 attempts
    canned2, url2 = await server(throttled)
    monkeypatch.setenv(aws.RETRY_SCALE_ENV, "0.05")
    async with api(url2, max_attempts=2) as a:
        # botocore's own two attempts may take up to ~2 s of its backoff (a twentieth of it here): a deadline past
        # that sees our retries
        deadline_s = 1.0
        a.deadline = time.monotonic() + deadline_s
        t0 = time.monotonic()
        with pytest.raises(Throttled, match="still failing after"):
            await a.list_jobs(jobQueue="ProdQueue")
        assert a.retrying >= 1 and time.monotonic() - t0 < deadline_s + 4  # gave up at the deadline


async def _waits(url: str, monkeypatch, scale: str | None, deadline_s: float) -> tuple[list[float], int]:
    """Every wait the client asks for (botocore's and ours; none really waited) through one failing read."""
    from batchtui import aws

    if scale is None:
        monkeypatch.delenv(aws.RETRY_SCALE_ENV, raising=False)
    else:
        monkeypatch.setenv(aws.RETRY_SCALE_ENV, scale)
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recorded(delay: float, *args, **kw):
        waits.append(delay)
        await real_sleep(0)

    random.seed(17)  # botocore's jitter and ours come from the module's generator
    async with api(url, max_attempts=3) as a:
        monkeypatch.setattr(asyncio, "sleep", recorded)
        a.deadline = time.monotonic() + deadline_s
        with pytest.raises(ServerError):
            await a.list_jobs(jobQueue="ProdQueue")
        monkeypatch.setattr(asyncio, "sleep", real_sleep)
        return waits, a.calls


async def test_the_retry_scale_shortens_every_wait_and_leaves_the_attempts_alone(server, monkeypatch):
    _, url = await server((503, "ServerException", {"message": "Service Unavailable"}))
    real, real_calls = await _waits(url, monkeypatch, None, 0.0)  # botocore's own attempts only
    scaled, scaled_calls = await _waits(url, monkeypatch, "0.25", 0.0)
    assert real_calls == scaled_calls == 3 and len(real) == 2 and real[0] > 0
    assert scaled == pytest.approx([w * 0.25 for w in real])
    # with a deadline ahead, our own waits between botocore's rounds are scaled as well; a shorter wait passes every
    # check against the deadline a longer one passed (no time passes here), so the scaled run begins as the real one
    real, real_calls = await _waits(url, monkeypatch, None, 6.0)
    scaled, scaled_calls = await _waits(url, monkeypatch, "0.5", 6.0)
    assert len(real) > 2 and scaled_calls >= real_calls > 3 and len(scaled) >= len(real)
    assert scaled[:len(real)] == pytest.approx([w * 0.5 for w in real])


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf"])
async def test_a_retry_scale_that_is_not_a_positive_number_is_one_line(server, monkeypatch, value):
    from batchtui import aws

    _, url = await server((200, None, {"jobQueues": []}))
    monkeypatch.setenv(aws.RETRY_SCALE_ENV, value)
    with pytest.raises(BatchtuiError, match=f"^{aws.RETRY_SCALE_ENV} must be a number above 0, not '{value}'$"):
        async with api(url):
            pass


async def test_a_throttled_call_that_then_succeeds_is_transparent(server):
    canned, url = await server((429, "TooManyRequestsException", {"message": "slow down"}),
                               (200, None, {"jobSummaryList": [{"jobId": "j", "jobName": "n"}]}))
    async with api(url) as a:
        page = await a.list_jobs(jobQueue="ProdQueue")
        assert page["jobSummaryList"][0]["jobId"] == "j"
        assert a.calls == 2 and a.throttled == 1
        assert a.budget.rate < a.budget.max_rate  # the budget slowed itself down


@pytest.mark.parametrize("code", ["ExpiredTokenException", "UnrecognizedClientException", "ExpiredToken"])
async def test_expired_or_unrecognized_credentials_say_how_to_log_in(server, code):
    _, url = await server((403, code, {"message": "The security token included in the request is expired"}))
    async with api(url, profile=None) as a:
        with pytest.raises(CredentialsError) as e:
            await a.describe_jobs(["x"])
    assert "aws sso login" in str(e.value)


async def test_expired_token_names_the_profile_in_the_hint(server, monkeypatch, tmp_path):
    _, url = await server((403, "ExpiredTokenException", {"message": "expired"}))
    config = tmp_path / "config"
    config.write_text("[profile prod-admin]\nregion = us-east-1\n")
    creds = tmp_path / "credentials"
    creds.write_text("[prod-admin]\naws_access_key_id = test\naws_secret_access_key = test\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_PROFILE", "prod-admin")
    async with open_api(endpoint_url=url) as a:  # the profile comes from the environment
        with pytest.raises(CredentialsError) as e:
            await a.list_jobs(jobQueue="q")
    assert "aws sso login --profile prod-admin" in str(e.value)


async def test_access_denied_names_the_iam_action(server):
    _, url = await server((403, "AccessDeniedException", {"message": "User: arn:aws:iam::1:user/x is not authorized"}))
    async with api(url) as a:
        with pytest.raises(AccessDenied) as e:
            await a.list_jobs(jobQueue="q")
    assert "batch:ListJobs" in str(e.value)


async def test_server_errors_are_retried_then_reported_as_transient(server):
    canned, url = await server((500, "ServerException", {"message": "internal"}))
    async with api(url, max_attempts=2) as a:
        a.deadline = time.monotonic()
        with pytest.raises(ServerError) as e:
            await a.describe_job_queues(["q"])
    assert len(canned.requests) == 2 and is_transient(e.value) and "HTTP 500" in str(e.value)


async def test_client_exception_is_an_api_error_with_aws_message(server):
    _, url = await server((400, "ClientException", {"message": "jobQueue is required"}))
    async with api(url) as a:
        with pytest.raises(ApiError) as e:
            await a.list_jobs(jobQueue="q")
    assert "jobQueue is required" in str(e.value) and not is_transient(e.value)


async def test_a_malformed_body_is_a_transient_error_not_a_crash(server):
    async def start_bad():
        async def bad(request):
            return web.Response(status=500, text="<html>not json", content_type="text/html")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", bad)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"

    runner, url = await start_bad()
    try:
        async with api(url, max_attempts=1) as a:
            with pytest.raises(ApiError) as e:
                await a.list_jobs(jobQueue="q")
        assert is_transient(e.value)
    finally:
        await runner.cleanup()


async def test_unknown_queue_from_an_empty_describe_job_queues(server):
    _, url = await server((200, None, {"jobQueues": []}))
    async with api(url) as a:
        with pytest.raises(UnknownQueue) as e:
            await a.check_queue("NoSuchQueue")
    assert "NoSuchQueue" in str(e.value)


async def test_unreachable_endpoint_fails_in_bounded_time_naming_the_url():
    async with api("http://127.0.0.1:9") as a:
        with pytest.raises(EndpointUnreachable) as e:
            await a.list_jobs(jobQueue="q")
    assert "http://127.0.0.1:9" in str(e.value) and is_transient(e.value)
    assert a.calls == 4  # bounded: 4 attempts in all


async def test_no_credentials_says_how_to_get_some(server, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    _, url = await server((200, None, {"jobQueues": []}))
    async with api(url) as a:
        with pytest.raises(CredentialsError) as e:
            await a.describe_job_queues(["q"])
    assert "aws configure" in str(e.value) and "AWS_PROFILE" in str(e.value)


async def test_unknown_profile_is_a_clear_error(server):
    _, url = await server((200, None, {}))
    with pytest.raises(CredentialsError) as e:
        async with api(url, profile="no-such-profile"):
            pass
    assert "no-such-profile" in str(e.value)


async def test_describe_jobs_is_chunked_by_100_and_bulk_calls_by_50(server):
    canned, url = await server((200, None, {"jobs": [], "successful": [], "errors": []}))
    async with api(url) as a:
        await a.describe_jobs([f"j{i}" for i in range(250)])
        await a.cancel_jobs([f"j{i}" for i in range(120)], "r")
    sizes = [(path, len(body["jobs"])) for path, _, body in canned.requests]
    assert sizes == [("/v1/describejobs", 100), ("/v1/describejobs", 100), ("/v1/describejobs", 50),
                     ("/v1/canceljobs", 50), ("/v1/canceljobs", 50), ("/v1/canceljobs", 20)]


async def test_bulk_errors_are_read_even_on_http_200(server):
    _, url = await server((200, None, {"successful": ["a"], "errors": [{"job": "b", "code": "X", "message": "no"}]}))
    async with api(url) as a:
        result = await a.terminate_jobs(["a", "b"], "oops")
    assert result == BulkResult(["a"], [{"jobId": "b", "code": "X", "message": "no"}])


async def test_logs_go_to_the_same_endpoint_and_a_missing_stream_is_clear(server):
    canned, url = await server((400, "ResourceNotFoundException", {"message": "The log stream does not exist."}))
    async with api(url) as a:
        with pytest.raises(LogStreamNotFound):
            await a.get_log_events("/aws/batch/job", "s/1")
        assert a.calls == 0 and a.log_calls == 1  # logs do not spend the Batch budget
    _, headers, body = canned.requests[0]
    assert headers["X-Amz-Target"] == "Logs_20140328.GetLogEvents" and body["logStreamName"] == "s/1"


async def test_no_key_or_token_ever_reaches_a_message(server):
    _, url = await server((403, "InvalidSignatureException",
                           {"message": "Credential=AKIAIOSFODNN7EXAMPLE/2026 sig "
                                       "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}))
    async with api(url) as a:
        with pytest.raises(CredentialsError) as e:
            await a.list_jobs(jobQueue="q")
    assert "AKIA" not in str(e.value) and "wJalr" not in str(e.value)
    assert "AKIA" not in redact("key AKIAIOSFODNN7EXAMPLE") and safe_url("http://u:p@h:1/x") == "http://h:1/x"


async def test_the_budget_paces_calls_to_the_rate():
    bucket = TokenBucket(20.0, burst=2)
    t0 = time.monotonic()
    await asyncio.gather(*(bucket.acquire() for _ in range(12)))
    # 2 from the burst, then 10 more at 20/s: at least ~0.5 s. (Proves pacing exists, not a timing target.)
    assert time.monotonic() - t0 >= 0.45


def test_the_budget_halves_on_throttling_and_recovers_slowly():
    bucket = TokenBucket(10.0)
    bucket.throttled()
    assert bucket.rate == 5.0
    for _ in range(100):
        bucket.succeeded()
    assert bucket.rate == 10.0
    for _ in range(20):
        bucket.throttled()
    assert bucket.rate == bucket.min_rate > 0


@pytest.mark.parametrize("body", [b"{oops", b"", b"<html>captive portal</html>"])
async def test_a_200_answer_that_is_not_what_aws_sends_is_an_error_not_an_empty_listing(body):
    async def start():
        async def odd(request):
            return web.Response(status=200, body=body, content_type="application/json")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", odd)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"

    runner, url = await start()
    try:
        async with api(url, max_attempts=1) as a:
            for call in (a.list_jobs(jobQueue="q"), a.describe_jobs(["x"]), a.describe_job_queues(["q"])):
                with pytest.raises(ServerError) as e:
                    await call
                assert "could not be read" in str(e.value) and is_transient(e.value)
    finally:
        await runner.cleanup()


async def test_a_sampled_log_read_spends_the_batch_budget_and_asks_for_the_tail(server):
    canned, url = await server((200, None, {"events": [{"timestamp": 1, "message": "KeyError: 'x'"}],
                                            "nextForwardToken": "f/1", "nextBackwardToken": "b/0"}))
    async with api(url) as a:
        tokens = a.budget._tokens
        assert await a.tail_log("/aws/batch/job", "s/1", 25, patience_s=1.0) == ["KeyError: 'x'"]
        assert a.budget._tokens < tokens and a.calls == 0 and a.log_calls == 1  # within --max-tps, not a Batch call
    _, _, body = canned.requests[0]
    assert body["startFromHead"] is False and body["limit"] == 25


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


async def test_background_work_takes_only_tokens_nobody_is_waiting_for():
    clock = FakeClock()
    bucket = TokenBucket(10.0, burst=1, clock=clock, sleep=clock.sleep)
    assert await bucket.take_spare(0.0)  # the burst token is free
    assert not await bucket.take_spare(0.05)  # the next comes in 0.1 s: more than it was willing to wait
    order: list[str] = []

    async def status_read() -> None:
        await bucket.acquire()
        order.append("status")

    async def background() -> None:
        await asyncio.sleep(0)  # arrives while the status read is already waiting
        if await bucket.take_spare(1.0):
            order.append("background")

    await asyncio.gather(status_read(), background())
    assert order == ["status", "background"]  # the status read came first although both waited
    assert await bucket.take_spare(1.0, take=False) and bucket._tokens >= 1.0  # take=False leaves the token


def test_try_take_never_waits_and_refills_at_the_rate():
    """The simulator's throttle: a burst of tokens, then none until the rate has refilled one."""
    clock = FakeClock()
    bucket = TokenBucket(4.0, burst=4, clock=clock, sleep=clock.sleep)
    assert [bucket.try_take() for _ in range(5)] == [True] * 4 + [False]
    clock.now += 0.2  # 0.8 of a token
    assert not bucket.try_take()
    clock.now += 0.05  # one whole token
    assert bucket.try_take() and not bucket.try_take()
