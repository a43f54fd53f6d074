"""Logging: nothing botocore, aiobotocore or asyncio logs ever reaches the user's terminal; `--debug` writes it all,
batchtui's own included, to a file (`--log-file`, default batchtui.log in the platform's log directory) with keys,
tokens and signatures redacted.

Without a handler of its own, Python's logging prints warnings to stderr through `logging.lastResort`: that is how
a not-logged-in SSO profile printed two botocore tracebacks before batchtui's one-line message.
"""

from __future__ import annotations

import logging
from pathlib import Path

from batchtui.errors import UsageError

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """Every line through aws.redact: botocore's debug log holds Authorization headers and session tokens."""

    def format(self, record: logging.LogRecord) -> str:
        from batchtui.aws import redact

        return redact(super().format(record))


def default_path() -> Path:
    from platformdirs import user_log_dir

    return Path(user_log_dir("batchtui")) / "batchtui.log"


def setup(debug: bool = False, path: str | None = None) -> Path | None:
    """Silence the terminal; with `debug`, log everything to the file (returned). An unwritable file is a usage
    error naming it (exit 2), before anything has started."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(logging.NullHandler())  # no lastResort: nothing reaches stderr
    if not debug:
        root.setLevel(logging.WARNING)
        return None
    target = Path(path).expanduser() if path else default_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(target, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot write the debug log {target}: {e.strerror or e}") from None
    handler.setFormatter(RedactingFormatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("batchtui").debug("debug log started")
    return target
