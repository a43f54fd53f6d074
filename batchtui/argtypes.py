"""The command line's argument types, shared by the parsers (cli.py) and the config file's values (config.py).

Each raises argparse.ArgumentTypeError with a message naming the problem, so a bad flag or a bad config value is
one line and exit 2.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from urllib.parse import urlparse

from batchtui.durations import parse_duration, parse_window


def duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def positive_duration(text: str) -> float:
    seconds = duration(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be more than zero: {text!r}")
    return seconds


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def positive_float(text: str) -> float:
    value = _number(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number above zero: {text!r}")
    return value


MIN_TPS = 0.1  # one call every 10 s: below this a refresh of even a small queue takes many minutes


def tps(text: str) -> float:
    value = positive_float(text)
    if value < MIN_TPS:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_TPS:g} requests per second: {text!r}")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0: {text!r}")
    return value


def int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:,} and {high:,}: {text!r}")
        return value

    return parse


def endpoint_url(text: str) -> str:
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r} (e.g. http://127.0.0.1:4566)")
    try:
        parsed.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad port in URL: {text!r}") from None
    return text


def region(text: str) -> str:
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d{1,2}", text):
        raise argparse.ArgumentTypeError(f"not an AWS region name: {text!r} (e.g. us-east-1)")
    return text


def job_ref(text: str) -> str:
    text = text.strip()
    if not text or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"not a job id: {text!r} (JOB_ID or JOB_ID:INDEX)")
    # Batch job ids never hold a colon, so one here must be JOB_ID:INDEX. A malformed index (`:5`, `JOB:`, `JOB:-1`,
    # `JOB:abc`, `JOB:1:2`, a non-ASCII digit) is a usage error, not a job AWS might know: without this it went to
    # AWS as a job id and came back as "no job" (exit 1), or crashed int() with a traceback. ARNs keep their colons.
    head, sep, tail = text.rpartition(":")
    if sep and not text.startswith("arn:") and not (head and ":" not in head and tail.isascii() and tail.isdigit()):
        raise argparse.ArgumentTypeError(f"not a job id: {text!r} (JOB_ID or JOB_ID:INDEX, INDEX a whole number ≥ 0)")
    return text


def outage(text: str) -> str:
    """Checked here so a bad window is a usage error like every other flag's; the simulator parses it again."""
    try:
        parse_window(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text
