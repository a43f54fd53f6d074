"""`batchtui --once/--watch` end to end (a subprocess) through outages, bad input, missing or bad credentials; no
secret ever printed; the simulator's bind address."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_http import BATCHTUI, FakeServer, Lines, clean_env, dummy_env, pipeline, run

from batchtui.sim.engine import SimConfig
from batchtui.sim.server import ThreadedSim, run_in_thread


@pytest.fixture
def sim():
    handle = run_in_thread(SimConfig(speed=0.0, seed=3, pipeline="reference", array_size=20, advance_s=25 * 60))
    yield handle
    handle.stop()


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("batchtui"), stderr
    return stderr.strip()


# --- outages ----------------------------------------------------------------------------------------------------


def test_once_during_an_outage_keeps_trying_until_its_timeout_then_exits_1_with_one_line(tmp_path: Path):
    handle = run_in_thread(SimConfig(speed=0.0, pipeline="reference", array_size=10, outages=[(0.0, 3600.0)]))
    try:
        t0 = time.monotonic()
        r = run(["--queue", "ProdQueue", "--endpoint-url", handle.url, "--once", "--json", "--timeout", "8s"],
                dummy_env(tmp_path))
        took = time.monotonic() - t0
        assert r.returncode == 1 and r.stdout == ""
        line = one_line(r.stderr)
        assert "503" in line and "still failing after" in line  # what failed, and that it was tried for long
        assert handle.sim is not None and handle.sim.request_count > 4  # more than botocore's own four attempts
        assert took < 8 + 25  # the timeout, and the last attempts in flight when it passed
    finally:
        handle.stop()


def _set_outage(handle: ThreadedSim, on: bool) -> None:
    # SimServer reads config.outages on every request; a window covering all time is "down now".
    assert handle.sim is not None
    handle.sim.config.outages = [(0.0, 1e9)] if on else []


def test_watch_keeps_the_last_state_through_an_outage_marked_stale_and_recovers(sim: ThreadedSim, tmp_path: Path):
    w = Lines(["--queue", "ProdQueue", "--endpoint-url", sim.url, "--watch", "--json", "--refresh", "0.3",
               "--timeout", "1s"],
              dummy_env(tmp_path))
    try:
        good = w.next_json()
        assert "error" not in good and good["jobs"]
        _set_outage(sim, True)
        stale = []
        while len(stale) < 2:
            obj = w.next_json(timeout=30)
            if "error" in obj:
                stale.append(obj)
            else:
                good = obj  # a line that raced the start of the outage
        _set_outage(sim, False)
        for obj in stale:
            assert "503" in obj["error"]
            assert obj["staleSince"] == good["polledAt"]  # the age counts from the last good refresh
            # the last good state is still there, job by job
            assert [(j["jobId"], j["status"], j.get("childCounts")) for j in obj["jobs"]] == \
                [(j["jobId"], j["status"], j.get("childCounts")) for j in good["jobs"]]
        back = w.next_json(timeout=30)
        while "error" in back:  # a refresh that began during the outage may still report it
            back = w.next_json(timeout=30)
        assert "staleSince" not in back and back["jobs"] and "outlook" in back["jobs"][-1]
        code, err = w.stop(signal.SIGINT)
        assert code == 130 and "Traceback" not in err
    finally:
        if w.proc.poll() is None:
            w.proc.kill()


def test_watch_text_shows_a_stale_notice_with_its_age(sim: ThreadedSim, tmp_path: Path):
    w = Lines(["--queue", "ProdQueue", "--endpoint-url", sim.url, "--watch", "--refresh", "0.3",
               "--timeout", "1s"],
              dummy_env(tmp_path))
    try:
        assert w.next().startswith("ProdQueue · ")
        _set_outage(sim, True)
        line = w.next(timeout=30)
        while "stale for" not in line:
            line = w.next(timeout=30)
        assert line.startswith("ProdQueue · ") and "last good" in line and "503" in line
        _set_outage(sim, False)
        code, err = w.stop(signal.SIGINT)
        assert code == 130 and "Traceback" not in err
    finally:
        if w.proc.poll() is None:
            w.proc.kill()


# --- bad input --------------------------------------------------------------------------------------------------


def test_an_unknown_queue_is_one_line_naming_it_and_exit_1(sim: ThreadedSim, tmp_path: Path):
    r = run(["--queue", "NoSuchQueue", "--endpoint-url", sim.url, "--once"], dummy_env(tmp_path))
    assert r.returncode == 1 and r.stdout == ""
    assert "NoSuchQueue" in one_line(r.stderr)


def test_watch_with_an_unknown_queue_stops_at_once(sim: ThreadedSim, tmp_path: Path):
    r = run(["--queue", "NoSuchQueue", "--endpoint-url", sim.url, "--watch", "--json"], dummy_env(tmp_path),
            timeout=30)
    assert r.returncode == 1 and r.stdout == "" and "NoSuchQueue" in one_line(r.stderr)


BAD_OPTIONS = [
    ("--endpoint-url", "ftp://127.0.0.1:1"), ("--endpoint-url", "127.0.0.1:4566"),
    ("--endpoint-url", "http://127.0.0.1:99999"), ("--endpoint-url", "http://"),
    ("--region", "Mars"), ("--region", "us-east-1;x"), ("--region", ""),
    ("--refresh", "0"), ("--refresh", "-5"), ("--refresh", "soon"), ("--refresh", "nan"), ("--refresh", "inf"),
    ("--since", "yesterday"), ("--since", "0"), ("--since", "-1h"), ("--since", "1e999"),
    ("--max-tps", "0"), ("--max-tps", "-1"), ("--max-tps", "nan"), ("--max-tps", "inf"), ("--max-tps", "lots"),
]


@pytest.mark.parametrize("option,value", BAD_OPTIONS)
def test_a_bad_option_value_is_one_line_naming_it_and_exit_2(option: str, value: str, tmp_path: Path):
    r = run(["--queue", "ProdQueue", "--endpoint-url", "http://127.0.0.1:9", "--once", option, value],
            dummy_env(tmp_path), timeout=20)
    assert r.returncode == 2 and r.stdout == ""
    line = one_line(r.stderr)
    assert option in line, line


def test_an_unknown_job_id_for_an_action_is_one_line_and_exit_1(sim: ThreadedSim, tmp_path: Path):
    r = run(["cancel", "no-such-job", "--endpoint-url", sim.url, "--yes"], dummy_env(tmp_path))
    assert r.returncode == 1 and "no-such-job" in one_line(r.stderr)


# --- credentials ------------------------------------------------------------------------------------------------


def test_an_unknown_profile_is_one_line_naming_it_and_exit_1(sim: ThreadedSim, tmp_path: Path):
    r = run(["--queue", "ProdQueue", "--endpoint-url", sim.url, "--once", "--profile", "nosuchprofile"],
            dummy_env(tmp_path))
    assert r.returncode == 1 and r.stdout == ""
    assert "nosuchprofile" in one_line(r.stderr)


def test_missing_credentials_say_how_to_get_some(sim: ThreadedSim, tmp_path: Path):
    t0 = time.monotonic()
    r = run(["--queue", "ProdQueue", "--endpoint-url", sim.url, "--once", "--region", "us-east-1"],
            clean_env(tmp_path), timeout=40)
    assert r.returncode == 1 and r.stdout == ""
    line = one_line(r.stderr)
    assert "credentials" in line and ("aws configure" in line or "aws sso login" in line), line
    assert time.monotonic() - t0 < 30
    assert sim.sim is not None and sim.sim.request_count == 0  # nothing unsigned was sent


def test_expired_credentials_name_the_profile_to_log_in_with(tmp_path: Path):
    env = clean_env(tmp_path)
    Path(env["AWS_CONFIG_FILE"]).write_text("[profile dev]\nregion = us-east-1\n")
    Path(env["AWS_SHARED_CREDENTIALS_FILE"]).write_text("[dev]\naws_access_key_id = AKIAEXAMPLEDEV000001\n"
                                                        "aws_secret_access_key = devsecret\n")
    with FakeServer(pipeline(), tamper=lambda op, body, answer: (403, "ExpiredTokenException",
                                                                 "The security token included in the request is "
                                                                 "expired")) as server:
        r = run(["--queue", "ProdQueue", "--endpoint-url", server.url, "--once", "--profile", "dev"], env)
    assert r.returncode == 1
    line = one_line(r.stderr)
    assert "expired" in line and "aws sso login --profile dev" in line, line


def test_access_denied_names_the_missing_iam_action(tmp_path: Path):
    def deny(op: str, body: dict, answer: dict):
        if op == "listjobs":
            return 403, "AccessDeniedException", "User is not authorized to perform: batch:ListJobs"
        return None

    with FakeServer(pipeline(), tamper=deny) as server:
        r = run(["--queue", "ProdQueue", "--endpoint-url", server.url, "--once"], dummy_env(tmp_path))
    assert r.returncode == 1
    assert "batch:ListJobs" in one_line(r.stderr)


# --- no secret ever printed -------------------------------------------------------------------------------------

ACCESS_KEY = "AKIASOAKSECRETTEST01"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiSOAKSECRET42"
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDsoakTokenSOAKSOAKSOAK" + "Zm9vYmFy" * 12


def _echo(status: int, code: str):
    """An error answer that quotes the request's Authorization and session-token headers back, as a careless proxy
    or a verbose error page might."""
    def tamper(op: str, body: dict, answer: dict):
        return status, code, f"op {op} refused; {answer.get('_auth')} token {answer.get('_token')}"
    return tamper


class EchoServer(FakeServer):
    async def _answer(self, op: str, body: dict) -> dict:
        _, headers, _ = self.requests[-1]
        return {**(await super()._answer(op, body)), "_auth": headers.get("Authorization"),
                "_token": headers.get("X-Amz-Security-Token")}


@pytest.mark.parametrize("status,code", [
    (403, "AccessDeniedException"), (403, "ExpiredTokenException"), (400, "ClientException"),
    (500, "ServerException"), (403, "InvalidSignatureException"), (404, "ResourceNotFoundException"),
])
def test_no_key_secret_token_or_signature_is_ever_printed(status: int, code: str, tmp_path: Path):
    env = clean_env(tmp_path, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=TOKEN,
                    AWS_DEFAULT_REGION="us-east-1")
    with EchoServer(pipeline(), tamper=_echo(status, code)) as server:
        r = run(["--queue", "ProdQueue", "--endpoint-url", server.url, "--once", "--json", "--timeout", "2s"], env)
        sent = server.requests[0][1]
    assert sent.get("X-Amz-Security-Token") == TOKEN  # the token really went out and was echoed back
    signature = sent["Authorization"].rsplit("Signature=", 1)[1]
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "Traceback" not in out
    for secret in (ACCESS_KEY, SECRET, TOKEN, TOKEN[:24], signature):
        assert secret not in out, (secret[:12], out)


def test_no_secret_in_watch_error_lines(tmp_path: Path):
    env = clean_env(tmp_path, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=TOKEN,
                    AWS_DEFAULT_REGION="us-east-1")
    fails = {"on": False}

    def flaky(op: str, body: dict, answer: dict):
        return _echo(503, "ServerException")(op, body, answer) if fails["on"] else None

    with EchoServer(pipeline(), tamper=flaky) as server:
        w = Lines(["--queue", "ProdQueue", "--endpoint-url", server.url, "--watch", "--json", "--refresh", "0.2",
                   "--timeout", "1s"], env)
        try:
            w.next_json()
            fails["on"] = True
            obj = w.next_json(timeout=30)
            while "error" not in obj:
                obj = w.next_json(timeout=30)
            code, err = w.stop(signal.SIGINT)
        finally:
            if w.proc.poll() is None:
                w.proc.kill()
    out = "\n".join(w.seen) + err
    assert "503" in obj["error"] and code == 130
    for secret in (ACCESS_KEY, SECRET, TOKEN, TOKEN[:24]):
        assert secret not in out


# --- the simulator's bind address -------------------------------------------------------------------------------


def _sim_banner(*extra: str) -> tuple[str, str]:
    p = subprocess.Popen([*BATCHTUI, "sim", "--port", "0", "--pipeline", "none", *extra], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None
        banner = p.stdout.readline()
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=20)
        return banner, err
    finally:
        if p.poll() is None:
            p.kill()


def test_the_simulator_binds_127_0_0_1_by_default_and_stays_quiet_about_it():
    banner, err = _sim_banner()
    assert "serving AWS Batch on http://127.0.0.1:" in banner and err == ""
    handle = run_in_thread(SimConfig(speed=0.0, pipeline="none"))
    try:
        assert handle.url.startswith("http://127.0.0.1:")
    finally:
        handle.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="127.0.0.2 is a loopback address on Linux only")
def test_the_simulator_says_so_when_told_to_bind_elsewhere():
    # 127.0.0.2 stays on this machine (tests never bind a public address), but it is not the default: the banner
    # and a warning must both say where it listens.
    banner, err = _sim_banner("--host", "127.0.0.2")
    assert "http://127.0.0.2:" in banner
    assert "warning" in err and "127.0.0.2" in err and "Traceback" not in err


def test_the_simulator_rejects_a_bad_outage_spec_with_one_line():
    r = subprocess.run([*BATCHTUI, "sim", "--port", "0", "--outage", "soon"], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 2 and "--outage" in one_line(r.stderr)


def test_json_error_lines_are_one_object_each(sim: ThreadedSim, tmp_path: Path):
    # A watch that starts during an outage has no snapshot yet: its error ticks are still one JSON object a line.
    _set_outage(sim, True)
    w = Lines(["--queue", "ProdQueue", "--endpoint-url", sim.url, "--watch", "--json", "--refresh", "0.2",
               "--timeout", "1s"], dummy_env(tmp_path))
    try:
        obj = json.loads(w.next(timeout=30))
        assert obj["jobs"] == [] and obj["staleSince"] is None and "503" in obj["error"]
        _set_outage(sim, False)
        obj = w.next_json(timeout=30)
        while "error" in obj:
            obj = w.next_json(timeout=30)
        assert obj["jobs"]
        code, _ = w.stop(signal.SIGINT)
        assert code == 130
    finally:
        if w.proc.poll() is None:
            w.proc.kill()
