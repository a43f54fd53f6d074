"""Every exception reaching the client facade becomes one of batchtui's error types with one line."""

from botocore import exceptions as bex
from botocore.parsers import ResponseParserError

from batchtui.aws import ServerError, map_error
from batchtui.errors import ApiError, BatchtuiError, EndpointUnreachable


def test_an_unreadable_answer_is_a_server_error_not_an_attribute_error():
    err = map_error(ResponseParserError("bad json"), "ListJobs", endpoint="http://127.0.0.1:1")
    assert isinstance(err, ServerError)
    assert "could not be read" in str(err)


def test_a_read_timeout_quotes_the_configured_timeout():
    e = bex.ReadTimeoutError(endpoint_url="http://127.0.0.1:1/v1/listjobs")
    err = map_error(e, "ListJobs", endpoint="http://127.0.0.1:1", read_timeout=2.5)
    assert "within 2.5 s" in str(err)
    assert "10 s" not in str(err)


def test_an_http_client_error_is_an_unreachable_endpoint():
    err = map_error(bex.HTTPClientError(error="boom"), "ListJobs", endpoint="http://127.0.0.1:1")
    assert isinstance(err, EndpointUnreachable)


def test_an_unexpected_exception_is_one_line():
    err = map_error(RuntimeError("odd\nthing"), "ListJobs")
    assert isinstance(err, ApiError) and isinstance(err, BatchtuiError)
    assert "RuntimeError" in str(err)
    assert "\n" not in str(err)


def test_redaction_masks_credential_shapes_and_nothing_else():
    from batchtui.aws import redact

    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD" * 3
    text = f"id AKIAIOSFODNN7EXAMPLE secret {secret} token {token} Signature={'ab12' * 16}"
    masked = redact(text)
    for value in ("AKIAIOSFODNN7EXAMPLE", secret, token, "ab12" * 16):
        assert value not in masked
    readable = ["s3://my-bucket/pipelines/ingest/2026/partitions/shard",
                "JobB-CPU-Intensive-Processing/default/4c5f8e0d1e2a4b3c9d8e7f6a5b4c3d2e"]
    for value in readable:
        assert redact(value) == value


def test_an_invalid_request_is_one_line():
    e = bex.ParamValidationError(report="Invalid length for parameter jobs\nInvalid type for parameter reason")
    assert "\n" not in str(map_error(e, "CancelJobs"))


def _client_error(status: int, code: str) -> bex.ClientError:
    return bex.ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                           "SubmitJob")


def test_which_failures_may_have_applied_a_call():
    """answer_lost decides whether a SubmitJob may be resent: only when the call surely did not land."""
    from batchtui.aws import answer_lost

    lost = [_client_error(500, "ServerException"), _client_error(503, "ServiceUnavailable"),
            bex.ReadTimeoutError(endpoint_url="http://x"), bex.ConnectionClosedError(endpoint_url="http://x"),
            ResponseParserError("bad json"), bex.HTTPClientError(error="reset"), RuntimeError("?")]
    not_sent = [_client_error(400, "ClientException"), _client_error(429, "TooManyRequestsException"),
                _client_error(403, "AccessDeniedException"), bex.EndpointConnectionError(endpoint_url="http://x"),
                bex.ConnectTimeoutError(endpoint_url="http://x"), bex.NoCredentialsError(),
                bex.ParamValidationError(report="bad")]
    for e in lost:
        assert answer_lost(e), e
    for e in not_sent:
        assert not answer_lost(e), e


def test_a_submit_error_does_not_claim_retries_it_never_made():
    err = map_error(_client_error(500, "ServerException"), "SubmitJob", retried=False)
    assert "after retries" not in str(err) and "HTTP 500" in str(err)


def _families():
    import aiohttp

    return [
        (bex.SSOError(), "CredentialsError"), (bex.TokenRetrievalError(provider="sso", error_msg="expired"),
                                               "CredentialsError"),
        (bex.CredentialRetrievalError(provider="sso", error_msg="x"), "CredentialsError"),
        (bex.UnauthorizedSSOTokenError(), "CredentialsError"),
        (bex.NoCredentialsError(), "CredentialsError"), (bex.PartialCredentialsError(provider="env", cred_var="k"),
                                                        "CredentialsError"),
        (bex.ProfileNotFound(profile="nope"), "CredentialsError"), (bex.NoRegionError(), "BatchtuiError"),
        (bex.EndpointConnectionError(endpoint_url="http://x"), "EndpointUnreachable"),
        (bex.ConnectTimeoutError(endpoint_url="http://x"), "EndpointUnreachable"),
        (bex.ReadTimeoutError(endpoint_url="http://x"), "NoAnswer"),
        (bex.ConnectionClosedError(endpoint_url="http://x"), "EndpointUnreachable"),
        (bex.HTTPClientError(error="reset"), "EndpointUnreachable"),
        (bex.ParamValidationError(report="bad\nreport"), "ApiError"),
        (ResponseParserError("bad json"), "ServerError"),
        (_client_error(400, "ClientException"), "ApiError"), (_client_error(403, "AccessDeniedException"),
                                                             "AccessDenied"),
        (_client_error(403, "ExpiredTokenException"), "CredentialsError"),
        (_client_error(429, "TooManyRequestsException"), "Throttled"), (_client_error(500, "ServerException"),
                                                                       "ServerError"),
        (aiohttp.ClientPayloadError("truncated"), "ApiError"), (RuntimeError("odd\nthing"), "ApiError"),
    ]


def test_every_exception_family_becomes_one_of_our_types_on_one_line():
    for e, kind in _families():
        err = map_error(e, "ListJobs", endpoint="http://127.0.0.1:1", profile="sso-dev")
        assert isinstance(err, BatchtuiError), e
        assert type(err).__name__ == kind, (e, type(err).__name__)
        assert "\n" not in str(err) and str(err), e
        if kind == "CredentialsError" and not isinstance(e, bex.ProfileNotFound | bex.NoCredentialsError
                                                         | bex.PartialCredentialsError | bex.ClientError):
            assert "aws sso login --profile sso-dev" in str(err)
