"""batchtui's own error types: each carries one line a person at 3 a.m. can act on.

The CLI prints `str(error)` on stderr and exits with `error.exit_code`; nothing that reaches a user is a traceback.
"""

from __future__ import annotations

# The exit codes (README): 0 ok; 1 a runtime error; 2 a usage error; 3 `--until-done` saw the pipeline finish with
# failures; 130 Ctrl-C (the shell's convention, 128 + SIGINT).
EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3
EXIT_INTERRUPTED = 130


class BatchtuiError(Exception):
    """Base: a runtime problem with a message for a person (exit code 1)."""

    exit_code = EXIT_RUNTIME


class UsageError(BatchtuiError):
    """The command line itself is wrong (exit code 2)."""

    exit_code = EXIT_USAGE


class UnknownQueue(BatchtuiError):
    pass


class UnknownJob(BatchtuiError):
    pass


class CredentialsError(BatchtuiError):
    """Missing or expired credentials; the message says how to fix it."""


class AccessDenied(BatchtuiError):
    """The caller lacks an IAM permission; the message names the action (e.g. batch:ListJobs)."""


class EndpointUnreachable(BatchtuiError):
    pass


class Throttled(BatchtuiError):
    """TooManyRequestsException after the client's own retries."""


class ApiError(BatchtuiError):
    """Any other answer from the API that is an error (4xx/5xx, malformed body).

    `refused`: AWS read the request and said no (a 4xx other than throttling: ClientException, an invalid
    parameter); the same request sent again gets the same answer, so nothing should send it again by itself."""

    def __init__(self, message: str = "", *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


class OutputClosed(BatchtuiError):
    """stdout was closed (a pipe's reader went away) before something the user had to see was shown (exit 1)."""


class OutcomeUnknown(ApiError):
    """A call that changes something was sent, but its answer was lost (5xx, timeout, connection dropped): it may
    have taken effect. Never resend such a call blindly; find out first."""


CREDENTIALS, ACCESS, OTHER = "credentials", "access", "other"


def kind_of(error: BaseException) -> str:
    """What a failed refresh needs: "credentials" and "access" will not mend by waiting (a person must log in or
    change a policy); anything else may pass on its own."""
    if isinstance(error, CredentialsError):
        return CREDENTIALS
    if isinstance(error, AccessDenied):
        return ACCESS
    return OTHER
