"""Signals and odd flags: Ctrl-C exits 130 quietly in every mode, also after a refresh in which an array listing
failed (Python 3.11's TaskGroup used to leave a cancel request behind: a CancelledError traceback and exit 1);
SIGTERM and SIGHUP give the terminal back (alternate screen left, mouse off) and exit 143 / 129; a --max-tps
below the minimum is a usage error."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest
from reliability_http import BATCHTUI, FakeServer, Lines, dummy_env, pipeline, run


def test_ctrl_c_during_watch_after_an_array_listing_failed_exits_130_quietly(tmp_path: Path):
    def child_listings_fail(op: str, body: dict, answer: dict):
        if op == "listjobs" and "arrayJobId" in body:
            return 500, "ServerException", "internal"
        return None

    fb = pipeline()
    with FakeServer(fb) as server:
        w = Lines(["--queue", "ProdQueue", "--endpoint-url", server.url, "--watch", "--json", "--refresh", "0.2",
                   "--timeout", "1s"], dummy_env(tmp_path))
        try:
            assert w.next_json()["jobs"]
            server.tamper = child_listings_fail
            fb.set_child("b", 0, "RUNNING")
            fb.summary_time += 1
            obj = w.next_json(timeout=30)
            while not any(j.get("stale") for j in obj["jobs"]):
                obj = w.next_json(timeout=30)
            stale = next(j for j in obj["jobs"] if j.get("stale"))
            assert stale["jobName"] == "JobB" and "HTTP 500" in stale["error"] and stale["staleSince"]
            assert "error" not in obj  # the refresh itself published what it learned
            code, err = w.stop(signal.SIGINT)
        finally:
            if w.proc.poll() is None:
                w.proc.kill()
    assert code == 130 and err == "", err


def test_a_watch_error_line_carries_the_calls_it_spent(tmp_path: Path):
    with FakeServer(pipeline(), tamper=lambda op, body, answer: (503, "ServerException", "down")) as server:
        w = Lines(["--queue", "ProdQueue", "--endpoint-url", server.url, "--watch", "--json", "--refresh", "0.2",
                   "--timeout", "1s"], dummy_env(tmp_path))
        try:
            obj = w.next_json(timeout=30)
            code, _ = w.stop(signal.SIGINT)
        finally:
            if w.proc.poll() is None:
                w.proc.kill()
    assert obj["jobs"] == [] and "503" in obj["error"]
    assert obj["apiCalls"] >= 4 and code == 130  # botocore's four attempts at least, not 0


@pytest.mark.parametrize("value", ["0.01", "1e-300"])
def test_a_max_tps_below_the_minimum_is_a_usage_error(value: str, tmp_path: Path):
    r = run(["--queue", "ProdQueue", "--once", "--max-tps", value], dummy_env(tmp_path), timeout=30)
    assert r.returncode == 2 and "at least 0.1 requests per second" in r.stderr and r.stderr.count("\n") == 1


def _read_until(fd: int, proc: subprocess.Popen, needle: bytes, timeout: float) -> bytes:
    out = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end and needle not in out:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
        elif proc.poll() is not None:
            break
    return out


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_give_the_terminal_back_and_exit_128_plus_the_signal(sig, code, tmp_path: Path):
    main, child = pty.openpty()
    os.set_blocking(main, False)
    env = {**dummy_env(tmp_path), "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    proc = subprocess.Popen([*BATCHTUI, "--demo", "--array-size", "20", "--speed", "0"], stdin=child, stdout=child,
                            stderr=child, env=env, close_fds=True, start_new_session=True)
    os.close(child)
    try:
        shown = _read_until(main, proc, b"ProdQueue", 60)
        assert b"\x1b[?1049h" in shown  # the dashboard took the alternate screen
        time.sleep(1.0)
        proc.send_signal(sig)
        rest = b""
        end = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < end:
            rest += _read_until(main, proc, b"\x00never", 0.5)
        rest += _read_until(main, proc, b"\x00never", 0.5)
        assert proc.wait(10) == code
        assert b"\x1b[?1049l" in rest  # left the alternate screen
        assert b"\x1b[?1000l" in rest or b"\x1b[?1003l" in rest  # mouse reporting off
        assert b"Traceback" not in rest
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)

