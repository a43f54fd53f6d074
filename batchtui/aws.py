"""The client facade: the only module that talks to AWS (Batch, CloudWatch Logs, EC2) through aiobotocore.

    async with open_api(region=None, profile=None, endpoint_url=url, max_tps=10.0) as api:
        await api.list_jobs(jobQueue="ProdQueue", filters=[...])

One session per process, opened and closed inside the running event loop, with a client for Batch reads, one for
SubmitJob, one for CloudWatch Logs and one for EC2 (DescribeInstanceTypes). Every Batch and EC2 HTTP attempt
(retries included) waits on the call budget (`budget.TokenBucket`) through botocore's `before-send` hook, and is
counted (`api.calls`; `api.throttled` for answers that said "too many requests"). Reads, CancelJobs and
TerminateJobs (idempotent on AWS) use botocore's "standard" retries, bounded, so a dead endpoint fails in well under
30 s. SubmitJob has no idempotency token: its client never retries on its own (a 500 after the job was created would
create it again); only a throttled answer, which created nothing, is tried again here, and an answer lost after
sending raises `OutcomeUnknown`. Every botocore/AWS error leaves this module as a `batchtui.errors` type with one
line a person can act on; no key, token or signature ever goes into a message.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from aiobotocore.session import AioSession
from botocore import exceptions as bex
from botocore.config import Config
from botocore.parsers import ResponseParserError

from batchtui.budget import TokenBucket
from batchtui.errors import (
    AccessDenied,
    ApiError,
    BatchtuiError,
    CredentialsError,
    EndpointUnreachable,
    OutcomeUnknown,
    Throttled,
    UnknownQueue,
)
from batchtui.limits import BULK_CHUNK, DESCRIBE_CHUNK
from batchtui.model import JobDescription, LogPage
from batchtui.shapes import Answer, job_description, job_id_of, log_page, next_token, summaries, tag_value

if TYPE_CHECKING:  # the clients' calls type-checked (types-aiobotocore-batch/-logs, installed by the test extra)
    from types_aiobotocore_batch.client import BatchClient
    from types_aiobotocore_logs.client import CloudWatchLogsClient

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_LOG_GROUP = "/aws/batch/job"

# botocore's own retries: 4 attempts, connect 3 s / read 10 s, standard backoff. An endpoint that refuses
# connections fails in ~10 s; one that accepts and never answers in ~45 s (4 × 10 s + backoff).
MAX_ATTEMPTS = 4
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 10.0
# A throttled SubmitJob created nothing, so it may be sent again: up to this many times in all, with backoff.
SUBMIT_THROTTLED_ATTEMPTS = 5
SUBMIT_BACKOFF_S = 1.0
# Reads that are throttled or meet a 5xx after botocore's attempts are pressure, not failure: they are tried
# again, with growing jittered waits, until the deadline (`BatchApi.deadline`, e.g. --once's --timeout) or, without
# one, for READ_PATIENCE_S per call (a dashboard refresh then keeps its last state and tries again next time).
READ_PATIENCE_S = 20.0
READ_BACKOFF_S = (1.0, 20.0)  # first wait, longest wait
# Every retry wait – botocore's backoff between its attempts and ours above – and READ_PATIENCE_S are multiplied by
# this variable's value when the client opens (1 when unset). The test suite sets it small so that outages and
# throttling are walked through in milliseconds: the attempts, and so everything counted, stay the same.
RETRY_SCALE_ENV = "BATCHTUI_RETRY_SCALE"

THROTTLE_CODES = frozenset({
    "TooManyRequestsException", "ThrottlingException", "Throttling", "ThrottledException",
    "RequestLimitExceeded", "RequestThrottled", "RequestThrottledException", "SlowDown",
})
EXPIRED_CODES = frozenset({
    "ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException", "InvalidClientTokenId",
    "InvalidSignatureException", "SignatureDoesNotMatch", "RequestExpired", "IncompleteSignature",
    "MissingAuthenticationToken", "MissingAuthenticationTokenException",
})
DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "NotAuthorized"})


class ServerError(ApiError):
    """A transient failure on AWS's side (5xx, a timeout, an unreadable answer) that outlived our retries."""


class NoAnswer(ServerError):
    """The endpoint took the request and did not answer within the read timeout: not worth more patience."""


class LogStreamNotFound(ApiError):
    """GetLogEvents: the log group or stream does not exist (not written yet, or expired)."""


class LogGroupNotFound(LogStreamNotFound):
    """GetLogEvents: the log group itself does not exist (a job definition naming a group nobody created)."""


def is_transient(error: BaseException) -> bool:
    """Worth trying again later (the poller keeps its last good snapshot and marks it stale)."""
    return isinstance(error, Throttled | EndpointUnreachable | ServerError)


@dataclass(slots=True)
class BulkResult:
    """What CancelJobs/TerminateJobs did: AWS answers 200 even when some ids failed, so always read `errors`."""

    successful: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)  # {"jobId", "code", "message"}


# --- the port -------------------------------------------------------------------------------------------------


class BatchPort(Protocol):
    """The one port to AWS that the poller, scope, actions (execute) and the UI's source use: `BatchApi` is the
    real one; tests pass doubles with the part a test needs. Each caller uses a subset of it."""

    calls: int  # Batch HTTP requests sent, retries included
    throttled: int  # Batch answers that said "too many requests"
    region: str | None
    endpoint_url: str | None

    async def check_queue(self, queue: str) -> Answer: ...
    async def describe_job_queues(self, queues: Sequence[str]) -> list[Answer]: ...
    async def describe_compute_environments(self, refs: Sequence[str]) -> list[Answer]: ...
    async def get_job_queue_snapshot(self, queue: str) -> Answer: ...
    async def describe_instance_types(self, names: Sequence[str], patterns: Sequence[str] = ()) -> list[Answer]: ...
    async def list_jobs(self, **kwargs: Any) -> Answer: ...
    async def describe_jobs(self, ids: Sequence[str]) -> list[Answer]: ...
    async def submit_job(self, **kwargs: Any) -> dict: ...
    async def find_job(self, queue: str, name: str, tag: str, value: str, max_pages: int = 5) -> str | None: ...
    async def cancel_jobs(self, ids: Sequence[str], reason: str) -> BulkResult: ...
    async def terminate_jobs(self, ids: Sequence[str], reason: str) -> BulkResult: ...
    async def get_log_events(self, group: str, stream: str, next_token: str | None = None,
                             start_from_head: bool = True, limit: int | None = None) -> Answer: ...
    async def spare(self, patience_s: float) -> bool: ...
    async def tail_log(self, group: str, stream: str, limit: int, patience_s: float) -> list[str] | None: ...


async def read_job_descriptions(api: BatchPort, ids: Sequence[str]) -> list[JobDescription]:
    """DescribeJobs for `ids`, each answer read whole (shapes.job_description): what the detail view shows."""
    return [job_description(d) for d in await api.describe_jobs(ids)]


async def read_log_page(api: BatchPort, group: str, stream: str, next_token: str | None = None,
                        start_from_head: bool = True) -> LogPage:
    """One GetLogEvents page, read (shapes.log_page)."""
    return log_page(await api.get_log_events(group, stream, next_token=next_token, start_from_head=start_from_head))


# --- the facade -----------------------------------------------------------------------------------------------


class BatchApi:
    """Batch and Logs calls with the budget, counters and error mapping applied. Build it with `open_api`."""

    def __init__(self, batch: BatchClient, logs: CloudWatchLogsClient, budget: TokenBucket, *,
                 profile: str | None = None, log_budget: TokenBucket | None = None, submit: BatchClient | None = None,
                 retry_scale: float = 1.0, ec2: Any = None) -> None:
        self._batch = batch
        self._ec2 = ec2  # DescribeInstanceTypes only; None: instance sizes come from batchtui's table
        self._submit = submit if submit is not None else batch  # a test double may have one client for both
        self._logs = logs
        self.budget = budget
        self.log_budget = log_budget or TokenBucket(budget.max_rate)
        self.profile = profile
        self.calls = 0  # Batch HTTP requests sent, each retry attempt included
        self.throttled = 0  # Batch answers that said "too many requests"
        self.log_calls = 0  # CloudWatch Logs requests (a separate quota; not part of `calls`)
        self.retrying = 0  # reads tried again after botocore gave up on throttling or a 5xx
        self.deadline: float | None = None  # time.monotonic() after which a read is not tried again
        self.retry_scale = retry_scale  # on our own retry waits and patience (RETRY_SCALE_ENV)
        self.region: str | None = getattr(getattr(batch, "meta", None), "region_name", None)
        self.endpoint_url: str | None = getattr(getattr(batch, "meta", None), "endpoint_url", None)
        # The timeout the client was really opened with, so a timeout message quotes it (not a constant).
        config = getattr(getattr(batch, "meta", None), "config", None)
        self._read_timeout = float(getattr(config, "read_timeout", None) or READ_TIMEOUT_S)
        self._hook(batch, "batch", self._before_batch_send, self._after_batch_response)
        if self._submit is not batch:
            self._hook(self._submit, "batch", self._before_batch_send, self._after_batch_response)
        self._hook(logs, "cloudwatch-logs", self._before_logs_send, None)
        # EC2 has its own quota, but its calls are the dashboard's too: they spend --max-tps and count in apiCalls.
        if ec2 is not None:
            self._hook(ec2, "ec2", self._before_batch_send, None)

    @staticmethod
    def _hook(client: Any, service: str, before: Any, after: Any) -> None:
        events = getattr(getattr(client, "meta", None), "events", None)
        if events is None:  # a test double without botocore's event system
            return
        events.register(f"before-send.{service}", before)
        if after is not None:
            events.register(f"response-received.{service}", after)

    # botocore emits before-send once per HTTP attempt (retries included): the budget sees every one of them.
    async def _before_batch_send(self, **_: Any) -> None:
        await self.budget.acquire()
        self.calls += 1

    async def _after_batch_response(self, parsed_response: dict | None = None, **_: Any) -> None:
        code = ((parsed_response or {}).get("Error") or {}).get("Code")
        status = ((parsed_response or {}).get("ResponseMetadata") or {}).get("HTTPStatusCode")
        if code in THROTTLE_CODES or status == 429:
            self.throttled += 1
            self.budget.throttled()
        elif parsed_response is not None and not code:
            self.budget.succeeded()

    async def _before_logs_send(self, **_: Any) -> None:
        await self.log_budget.acquire()
        self.log_calls += 1

    # --- Batch ----------------------------------------------------------------------------------------------

    async def describe_job_queues(self, queues: Sequence[str]) -> list[Answer]:
        """Raw jobQueues entries; a name AWS does not know is simply absent (see `check_queue`). No names: every
        queue of the account, the first page of 100 (enough to find the queues sharing ours' environments)."""
        kwargs: dict[str, Any] = {"jobQueues": list(queues)} if queues else {"maxResults": 100}
        resp = await self._read("DescribeJobQueues", self._batch.describe_job_queues, **kwargs)
        return self._required(resp, "jobQueues", "DescribeJobQueues")

    async def check_queue(self, queue: str) -> Answer:
        """The queue's description, or UnknownQueue naming it."""
        found = await self.describe_job_queues([queue])
        for q in found:
            if queue in (q.get("jobQueueName"), q.get("jobQueueArn")):
                return q
        if found:
            return found[0]
        where = f" in {self.region}" if self.region else ""
        raise UnknownQueue(f"no job queue named {queue!r}{where} (check --queue, --region and --profile)")

    async def describe_compute_environments(self, refs: Sequence[str]) -> list[Answer]:
        """Raw computeEnvironments entries for names or ARNs (at most 100 a call, as AWS allows)."""
        out: list[Answer] = []
        refs = list(dict.fromkeys(refs))
        for start in range(0, len(refs), 100):
            resp = await self._read("DescribeComputeEnvironments", self._batch.describe_compute_environments,
                                    computeEnvironments=refs[start:start + 100])
            out.extend(self._required(resp, "computeEnvironments", "DescribeComputeEnvironments"))
        return out

    async def get_job_queue_snapshot(self, queue: str) -> Answer:
        """The raw GetJobQueueSnapshot answer (frontOfQueue: the first 100 RUNNABLE jobs in dispatch order)."""
        resp = await self._read("GetJobQueueSnapshot", self._batch.get_job_queue_snapshot, jobQueue=queue)
        return resp if isinstance(resp, dict) else {}

    async def describe_instance_types(self, names: Sequence[str], patterns: Sequence[str] = ()) -> list[Answer]:
        """Raw EC2 InstanceTypes entries for instance types by name (100 a call) and for `instance-type` filter
        patterns ("c6i.*", every page). A name EC2 does not know fails the whole call (InvalidInstanceType)."""
        if self._ec2 is None:
            raise ApiError("DescribeInstanceTypes is not available (no EC2 client)")
        out: list[dict] = []
        names = list(dict.fromkeys(names))
        for start in range(0, len(names), 100):
            resp = await self._ec2_read(InstanceTypes=names[start:start + 100])
            out.extend(resp.get("InstanceTypes") or ())
        if patterns:
            kwargs: dict[str, Any] = {"Filters": [{"Name": "instance-type", "Values": list(patterns)}],
                                      "MaxResults": 100}
            seen: set[str] = set()
            while True:
                resp = await self._ec2_read(**kwargs)
                out.extend(resp.get("InstanceTypes") or ())
                token = resp.get("NextToken")
                if not token or token in seen or len(seen) >= 50:  # a token that comes back again: stop, not loop
                    break
                seen.add(token)
                kwargs["NextToken"] = token
        return [d for d in out if isinstance(d, dict)]

    async def _ec2_read(self, **kwargs: Any) -> dict:
        with self._mapped("DescribeInstanceTypes", service="ec2"):
            resp = await self._ec2.describe_instance_types(**kwargs)
        return resp if isinstance(resp, dict) else {}

    async def list_jobs(self, **kwargs: Any) -> Answer:
        """One ListJobs page, the raw answer (jobSummaryList, nextToken)."""
        resp = await self._read("ListJobs", self._batch.list_jobs, **kwargs)
        self._required(resp, "jobSummaryList", "ListJobs")
        return resp

    async def describe_jobs(self, ids: Sequence[str]) -> list[Answer]:
        """Raw `jobs` entries for ids, in chunks of 100; ids AWS does not know are left out."""
        ids = list(dict.fromkeys(ids))  # no id twice: AWS would charge a slot for it
        jobs: list[Answer] = []
        for start in range(0, len(ids), DESCRIBE_CHUNK):
            chunk = ids[start:start + DESCRIBE_CHUNK]
            resp = await self._read("DescribeJobs", self._batch.describe_jobs, jobs=chunk)
            jobs.extend(self._required(resp, "jobs", "DescribeJobs"))
        return jobs

    async def submit_job(self, **kwargs: Any) -> dict:
        """SubmitJob, each attempt sent once. Throttled: tried again (bounded; nothing was created). Rejected (4xx)
        or never sent (no connection): our error type. Sent but the answer lost: OutcomeUnknown – the job may
        exist, and only a lookup (`find_job`) can tell."""
        for attempt in range(1, SUBMIT_THROTTLED_ATTEMPTS + 1):
            try:
                resp = await self._submit.submit_job(**kwargs)
            except Exception as e:  # noqa: BLE001 - everything from botocore becomes one of our types
                error = self._map(e, "SubmitJob", retried=False)
                if isinstance(error, Throttled) and attempt < SUBMIT_THROTTLED_ATTEMPTS:
                    await asyncio.sleep(SUBMIT_BACKOFF_S * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
                                        * self.retry_scale)
                    continue
                if answer_lost(e):
                    raise OutcomeUnknown(f"{error}; the job may have been created") from None
                raise error from None
            return {k: resp[k] for k in ("jobId", "jobName", "jobArn") if k in resp}
        raise AssertionError("unreachable")  # the loop returns or raises

    async def find_job(self, queue: str, name: str, tag: str, value: str, max_pages: int = 5) -> str | None:
        """The id of the job named `name` in `queue` whose tag `tag` is `value`, or None if AWS shows none (yet).
        How a SubmitJob whose answer was lost is found: the name narrows ListJobs (any status), the tag is ours."""
        token: str | None = None
        for _ in range(max_pages):
            page = await self.list_jobs(jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [name]}],
                                        **({"nextToken": token} if token else {}))
            ids = [i for s in summaries(page) if (i := job_id_of(s))]
            for job in await self.describe_jobs(ids):
                if tag_value(job, tag) == value:
                    return job_id_of(job)
            more = next_token(page)
            token = more if isinstance(more, str) else None
            if not token:
                break
        return None

    async def cancel_jobs(self, ids: Sequence[str], reason: str) -> BulkResult:
        return await self._bulk("CancelJobs", self._batch.cancel_jobs, ids, reason)

    async def terminate_jobs(self, ids: Sequence[str], reason: str) -> BulkResult:
        return await self._bulk("TerminateJobs", self._batch.terminate_jobs, ids, reason)

    async def _bulk(self, op: str, call: Any, ids: Sequence[str], reason: str) -> BulkResult:
        result = BulkResult()
        ids = list(dict.fromkeys(ids))
        for start in range(0, len(ids), BULK_CHUNK):
            with self._mapped(op):
                resp = await call(jobs=ids[start:start + BULK_CHUNK], reason=reason)
            result.successful.extend(resp.get("successful") or [])
            for e in resp.get("errors") or []:
                result.errors.append({"jobId": e.get("job") or e.get("jobId") or "", "code": e.get("code") or "",
                                      "message": e.get("message") or ""})
        return result

    # --- CloudWatch Logs ------------------------------------------------------------------------------------

    async def get_log_events(self, group: str, stream: str, next_token: str | None = None,
                             start_from_head: bool = True, limit: int | None = None) -> Answer:
        """One GetLogEvents page (events, nextForwardToken, nextBackwardToken)."""
        kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": start_from_head}
        if next_token:
            kwargs["nextToken"] = next_token
        if limit:
            kwargs["limit"] = limit
        with self._mapped("GetLogEvents", service="logs"):
            try:
                return await self._logs.get_log_events(**kwargs)
            except bex.ClientError as e:
                if _code(e) == "ResourceNotFoundException":
                    if "log group" in _aws_message(e).lower():  # AWS: "The specified log group does not exist."
                        raise LogGroupNotFound(f"no log group {group!r}") from None
                    raise LogStreamNotFound(f"no log stream {stream!r} in {group!r} (not written yet, or expired)") \
                        from None
                raise

    async def spare(self, patience_s: float) -> bool:
        """Wait up to `patience_s` for the Batch budget to have a token nobody else is waiting for (background
        work goes after status reads); does not take it."""
        return await self.budget.take_spare(patience_s, take=False)

    async def tail_log(self, group: str, stream: str, limit: int, patience_s: float) -> list[str] | None:
        """The last `limit` messages of a log stream, oldest first, for background work (triage's samples): the
        call spends a spare token of the Batch budget (so it fits in --max-tps, behind status reads) and None
        comes back, with nothing sent, when no token came free within `patience_s`."""
        if not await self.budget.take_spare(patience_s):
            return None
        resp = await self.get_log_events(group, stream, start_from_head=False, limit=limit)
        return [e.message for e in log_page(resp).events] if isinstance(resp, Mapping) else []

    async def _read(self, op: str, call: Callable[P, Awaitable[R]], *args: P.args, **kwargs: P.kwargs) -> R:
        """A read, tried again while AWS throttles it or fails on its side, until the deadline."""
        start = time.monotonic()
        give_up = self.deadline if self.deadline is not None else start + READ_PATIENCE_S * self.retry_scale
        for attempt in itertools.count():
            try:
                with self._mapped(op):
                    return await call(*args, **kwargs)
            except (Throttled, ServerError) as e:
                first, longest = READ_BACKOFF_S
                wait = min(longest, first * 2 ** attempt) * random.uniform(0.5, 1.0) * self.retry_scale
                if isinstance(e, NoAnswer):
                    raise
                if time.monotonic() + wait > give_up:
                    if not attempt:
                        raise
                    took = time.monotonic() - start
                    raise type(e)(f"{e} (still failing after {took:.0f} s of trying)") from None
                self.retrying += 1
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    def _required(self, resp: Any, key: str, op: str) -> list:
        """The list AWS always sends under `key`. Missing means the body was not what AWS sends (botocore turns a
        200 body that is not JSON into {"message": ...}): reading it as "nothing" would invent a state."""
        value = resp.get(key) if isinstance(resp, dict) else None
        if not isinstance(value, list):
            raise ServerError(f"{op}: the answer from {safe_url(self.endpoint_url)} could not be read "
                              f"(no {key} list in it)")
        return value

    @contextmanager
    def _mapped(self, op: str, service: str = "batch") -> Iterator[None]:
        try:
            yield
        except BatchtuiError:
            raise
        except Exception as e:  # noqa: BLE001 - everything from botocore becomes one of our types
            raise self._map(e, op, service) from None

    def _map(self, e: BaseException, op: str, service: str = "batch", *, retried: bool = True) -> BatchtuiError:
        return map_error(e, op, service=service, profile=self.profile, endpoint=self.endpoint_url,
                         read_timeout=self._read_timeout, retried=retried)


# --- error mapping --------------------------------------------------------------------------------------------


def _code(e: bex.ClientError) -> str:
    return str((e.response.get("Error") or {}).get("Code") or "")


def _status(e: bex.ClientError) -> int | None:
    return (e.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")


MAX_MESSAGE = 300  # characters of an error's own message kept in our one-line errors
_HTML = re.compile(r"<(?:!doctype|html|head|body|title)\b", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _aws_message(e: bex.ClientError) -> str:
    """The error's message on one line. An HTML page (an endpoint without this route, a proxy) is not an AWS
    message: botocore hands its whole body over as one, and only its title is worth showing."""
    text = str((e.response.get("Error") or {}).get("Message") or "")
    if _HTML.search(text):
        title = _TITLE.search(text)
        text = title.group(1) if title else ""
    return _one_line(text)


def _one_line(text: str) -> str:
    """Any message on one line, redacted and bounded: an exception's text can hold newlines and escapes."""
    text = redact(" ".join(text.split()))
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 1] + "…"


# Real credential shapes only, so that S3 paths and log stream names stay readable in messages and the audit:
# a secret key is exactly 40 base64 characters mixing upper, lower and digits; a session token is a much longer
# run of the same mix; a SigV4 signature is 64 hex digits after "Signature=".
_MIXED = r"(?=[A-Za-z0-9/+=]*[A-Z])(?=[A-Za-z0-9/+=]*[a-z])(?=[A-Za-z0-9/+=]*[0-9])"
_SECRETISH = re.compile(
    r"(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{12,}"  # access key ids
    rf"|(?<![A-Za-z0-9/+=]){_MIXED}[A-Za-z0-9/+]{{40}}(?![A-Za-z0-9/+=])"  # secret access keys
    rf"|(?<![A-Za-z0-9/+=]){_MIXED}[A-Za-z0-9/+=]{{100,}}"  # session tokens
    r"|(?<=Signature=)[0-9a-f]{64}"  # request signatures
)


def redact(text: str) -> str:
    """Never let a key, token or signature through into a message or a log."""
    return _SECRETISH.sub("[redacted]", text)


def safe_url(url: str | None) -> str:
    """A URL without any user:password part."""
    if not url:
        return "the AWS endpoint"
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def _sso_hint(profile: str | None) -> str:
    profile = profile or os.environ.get("AWS_PROFILE")
    if profile:
        return f"run `aws sso login --profile {profile}` (or refresh that profile's credentials)"
    return "run `aws sso login --profile X` (or refresh your credentials, or set AWS_PROFILE)"


def answer_lost(e: BaseException) -> bool:
    """The request may have reached AWS and been applied, but no usable answer came back: a 5xx, a read timeout,
    the connection closed after sending, a body that could not be read, or anything unexpected. Not so for a
    connection never made, an answer that refused the call (4xx) or a request never signed (credentials)."""
    if isinstance(e, bex.ClientError):
        status = _status(e)
        return status is None or status >= 500
    if isinstance(e, bex.ConnectionError | bex.NoCredentialsError | bex.PartialCredentialsError | bex.SSOError
                  | bex.TokenRetrievalError | bex.CredentialRetrievalError | bex.ProfileNotFound | bex.NoRegionError
                  | bex.ParamValidationError):
        return False  # EndpointConnectionError, ConnectTimeoutError, proxy and TLS errors: nothing was sent
    return True


def map_error(e: BaseException, op: str, *, service: str = "batch", profile: str | None = None,
              endpoint: str | None = None, read_timeout: float = READ_TIMEOUT_S, retried: bool = True) -> BatchtuiError:
    """One of our error types, with one line naming what went wrong and what to do about it."""
    action = f"{service}:{op}"
    after = " after retries" if retried else ""
    url = safe_url(endpoint)
    if isinstance(e, bex.ClientError):
        code, status, msg = _code(e), _status(e), _aws_message(e)
        if code.isdigit():
            code = ""  # no error type in the answer: botocore put the HTTP status there
        detail = f": {msg}" if msg else ""
        if code in THROTTLE_CODES or status == 429:
            return Throttled(f"AWS is throttling {op} (TooManyRequestsException) even after retries; "
                             "other callers share the account's quota: wait a minute, or give --timeout more time")
        if code in EXPIRED_CODES:
            return CredentialsError(f"AWS credentials are expired or not valid ({code}): {_sso_hint(profile)}")
        if code in DENIED_CODES or status == 403:
            return AccessDenied(f"access denied: this identity may not call {action} (add it to the IAM policy)"
                                f"{detail}")
        if status is not None and status >= 500:
            return ServerError(f"{op} failed on AWS's side (HTTP {status} {code or 'error'}){after}{detail}")
        if status == 404 and not code:
            # Batch has no 404 error of its own: the endpoint does not have this operation's route at all.
            return ApiError(f"{op} was refused (HTTP 404): {url} does not offer {op} (check --endpoint-url){detail}",
                            refused=True)
        return ApiError(f"{op} was refused ({code or f'HTTP {status}'}){detail}", refused=True)
    if isinstance(e, bex.NoCredentialsError):
        return CredentialsError("no AWS credentials found: run `aws configure` or `aws sso login --profile X`, "
                                "or set AWS_PROFILE")
    if isinstance(e, bex.PartialCredentialsError):
        return CredentialsError(f"AWS credentials are incomplete ({_one_line(str(e))}): run `aws configure`")
    if isinstance(e, bex.SSOError | bex.TokenRetrievalError | bex.CredentialRetrievalError):
        return CredentialsError(f"AWS credentials could not be loaded or have expired: {_sso_hint(profile)}")
    if isinstance(e, bex.ProfileNotFound):
        name = getattr(e, "kwargs", {}).get("profile") or profile
        return CredentialsError(f"AWS profile {name!r} not found: check `aws configure list-profiles` "
                                "(--profile or AWS_PROFILE)")
    if isinstance(e, bex.NoRegionError):
        return BatchtuiError("no AWS region: pass --region, set AWS_REGION, or set a region in your profile")
    if isinstance(e, bex.ReadTimeoutError):
        return NoAnswer(f"no answer from {url} to {op} within {read_timeout:g} s{',' if retried else ''}{after}")
    if isinstance(e, bex.ConnectTimeoutError):
        return EndpointUnreachable(f"cannot reach {url}: connection timed out (check --endpoint-url, --region and "
                                   "your network)")
    if isinstance(e, bex.EndpointConnectionError | bex.ConnectionClosedError | bex.ConnectionError
                  | ConnectionError | OSError):
        return EndpointUnreachable(f"cannot reach {url}: connection failed (check --endpoint-url, --region and your "
                                   "network)")
    if isinstance(e, bex.ParamValidationError):
        return ApiError(f"{op} request was invalid: {_one_line(str(e))}", refused=True)
    if isinstance(e, ResponseParserError):  # lives in botocore.parsers, not botocore.exceptions
        return ServerError(f"{op}: the answer from {url} could not be read (malformed body)")
    if isinstance(e, bex.HTTPClientError):
        return EndpointUnreachable(f"cannot reach {url}: {type(e).__name__}")
    if isinstance(e, bex.BotoCoreError):
        return ApiError(f"{op} failed: {_one_line(str(e))}")
    return ApiError(f"{op} failed unexpectedly: {type(e).__name__}: {_one_line(str(e))}")


# --- opening the clients --------------------------------------------------------------------------------------


def client_config(max_attempts: int = MAX_ATTEMPTS, connect_timeout: float = CONNECT_TIMEOUT_S,
                  read_timeout: float = READ_TIMEOUT_S) -> Config:
    # "standard" rather than "adaptive": our own bucket already rate-limits and slows on throttling, and a
    # second client-side limiter would make the budget's arithmetic (and the benchmarks) hard to read.
    return Config(retries={"mode": "standard", "total_max_attempts": max_attempts},
                  connect_timeout=connect_timeout, read_timeout=read_timeout, user_agent_extra="batchtui")


def retry_scale() -> float:
    """RETRY_SCALE_ENV's factor (1 when unset); anything but a number above 0 is one line naming the variable."""
    text = os.environ.get(RETRY_SCALE_ENV, "").strip()
    if not text:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise BatchtuiError(f"{RETRY_SCALE_ENV} must be a number above 0, not {text!r}")
    return value


def _scale_botocore_backoff(client: Any, scale: float) -> None:
    """botocore has no setting for its backoff: its endpoint waits between attempts in `_sleep`, so that wait is
    scaled here (only ever called with a scale other than 1, i.e. in tests)."""
    endpoint = client._endpoint
    sleep = endpoint._sleep

    async def scaled(amount: float) -> None:
        await sleep(amount * scale)

    endpoint._sleep = scaled


def _resolve_region(session: AioSession, region: str | None, endpoint_url: str | None, profile: str | None) -> str:
    """As the AWS CLI v2: --region, then AWS_REGION, then AWS_DEFAULT_REGION, then the profile's region.
    (botocore itself reads only the last two: boto/boto3#3620.)"""
    region = region or os.environ.get("AWS_REGION") or None
    if region:
        return region
    try:
        configured = session.get_config_variable("region")
    except bex.ProfileNotFound as e:
        raise map_error(e, "open", profile=profile) from None
    if configured:
        return configured
    if endpoint_url:
        return "us-east-1"  # a local endpoint (the simulator) does not care, but botocore needs one to sign
    raise map_error(bex.NoRegionError(), "open", profile=profile)


@asynccontextmanager
async def open_api(region: str | None = None, profile: str | None = None, endpoint_url: str | None = None,
                   max_tps: float = 10.0, *, max_attempts: int = MAX_ATTEMPTS,
                   connect_timeout: float = CONNECT_TIMEOUT_S, read_timeout: float | None = None,
                   burst: float | None = None) -> AsyncIterator[BatchApi]:
    """One aiobotocore session with a Batch and a CloudWatch Logs client (same endpoint_url), closed on exit."""
    try:
        session = AioSession(profile=profile)
    except bex.ProfileNotFound as e:
        raise map_error(e, "open", profile=profile) from None
    region_name = _resolve_region(session, region, endpoint_url, profile)
    scale = retry_scale()
    read_timeout = READ_TIMEOUT_S if read_timeout is None else read_timeout
    config = client_config(max_attempts, connect_timeout, read_timeout)
    once = client_config(1, connect_timeout, read_timeout)  # SubmitJob: never resent by botocore
    async with AsyncExitStack() as stack:
        try:
            def client(service: str, cfg: Config) -> Any:
                return stack.enter_async_context(
                    session.create_client(service, region_name=region_name, endpoint_url=endpoint_url, config=cfg))

            batch = await client("batch", config)
            submit = await client("batch", once)
            logs = await client("logs", config)
            ec2 = await client("ec2", config)
            if scale != 1.0:
                for made in (batch, submit, logs, ec2):
                    _scale_botocore_backoff(made, scale)
        except (bex.BotoCoreError, ValueError) as e:
            if isinstance(e, bex.InvalidRegionError | bex.UnknownRegionError) or "region" in str(e).lower():
                raise BatchtuiError(f"not a usable AWS region: {region_name!r}") from None
            raise map_error(e, "open", profile=profile, endpoint=endpoint_url) from None
        budget = TokenBucket(max_tps, burst)
        yield BatchApi(batch, logs, budget, profile=profile, log_budget=TokenBucket(max(1.0, min(max_tps, 10.0))),
                       submit=submit, retry_scale=scale, ec2=ec2)
