"""`batchtui sim` as a user runs it: prints its URL, serves, stops cleanly on Ctrl-C; bad flags exit 2."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import boto3
from botocore.config import Config


def run_cli(*args: str, **kw: object) -> subprocess.Popen[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    return subprocess.Popen([sys.executable, "-m", "batchtui.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)  # type: ignore[call-overload]


def test_sim_prints_its_url_serves_and_stops_on_sigint() -> None:
    proc = run_cli("sim", "--port", "0", "--pipeline", "none")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.match(r"batchtui sim: serving AWS Batch on (http://127\.0\.0\.1:\d+) \(", line)
        assert match, line
        batch = boto3.client("batch", endpoint_url=match.group(1), region_name="us-east-1",
                             config=Config(retries={"total_max_attempts": 1}))
        names = [q["jobQueueName"] for q in batch.describe_job_queues()["jobQueues"]]
        assert "ProdQueue" in names
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_bad_flag_exits_2_with_one_line() -> None:
    for args in (["sim", "--speed", "fast"], ["sim", "--outage", "5s"]):
        proc = run_cli(*args)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 2
        assert len(err.strip().splitlines()) == 1 and out == ""


def test_a_port_in_use_exits_1_with_one_line() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = run_cli("sim", "--port", str(port), "--pipeline", "none")
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 1 and len(err.strip().splitlines()) == 1 and str(port) in err
