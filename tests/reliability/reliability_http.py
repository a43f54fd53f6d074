"""Helpers for the reliability tests: a scriptable Batch HTTP server on 127.0.0.1 (FakeBatch answers, tampered with on
request, or canned errors that echo the request back), the CLI as a subprocess, and a clean AWS environment."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "poller"))  # the poller helper's in-memory Batch

from fakebatch import FakeBatch  # noqa: E402
from loopback import InThread, aws_error  # noqa: E402

from batchtui.errors import UnknownQueue  # noqa: E402

BATCHTUI = [sys.executable, "-m", "batchtui.cli"]

# What an answer is replaced with: raw bytes (sent as is), a dict (sent as JSON), a (status, code, message) error or
# a whole aiohttp web.Response.
Tamper = Callable[[str, dict, dict], "bytes | dict | tuple[int, str, str] | web.Response | None"]


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment without any AWS setting of the machine's (HOME, config and credentials files all empty)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    (tmp / "home").mkdir(exist_ok=True)
    for name in ("config", "credentials"):
        (tmp / name).touch()
    env.update(HOME=str(tmp / "home"), AWS_CONFIG_FILE=str(tmp / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp / "credentials"), AWS_EC2_METADATA_DISABLED="true")
    env.update(extra)
    return env


def dummy_env(tmp: Path, **extra: str) -> dict[str, str]:
    return clean_env(tmp, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
                     **extra)


def run(argv: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*BATCHTUI, *argv], capture_output=True, text=True, timeout=timeout, env=env)


def run_here(argv: list[str], env: dict[str, str], monkeypatch: Any, capsys: Any) -> subprocess.CompletedProcess:
    """What `run` does, in this process, for behaviour a subprocess adds nothing to (it costs a second of imports):
    the environment is `env` during the call, stdout and stderr are captured, the exit code returned."""
    from batchtui import cli

    with monkeypatch.context() as patched:
        for name in [k for k in os.environ if k not in env]:
            patched.delenv(name)
        for name, value in env.items():
            patched.setenv(name, value)
        capsys.readouterr()
        try:
            code = cli.main(argv)
        except SystemExit as e:  # argparse's own usage errors
            code = e.code if isinstance(e.code, int) else 2
        out, err = capsys.readouterr()
    return subprocess.CompletedProcess([*BATCHTUI, *argv], code, out, err)


class Lines:
    """A running `batchtui` whose stdout lines are read on a thread (so a test can wait with a timeout)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([*BATCHTUI, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env)
        self._q: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._err: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        # stderr is drained too: a pipe nobody reads fills up (64 KiB) and the process blocks on its next write –
        # after a Ctrl-C that write is the one that says goodbye, and the process would never exit
        self._err_pump = threading.Thread(target=self._pump_err, daemon=True)
        self._err_pump.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def next(self, timeout: float = 20) -> str:
        line = self._q.get(timeout=timeout)
        if line is None:
            raise EOFError(f"batchtui ended (exit {self.proc.wait()}): {self.stderr()}")
        self.seen.append(line)
        return line

    def next_json(self, timeout: float = 20) -> dict:
        return json.loads(self.next(timeout))

    def _pump_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._err.append(line)

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return ""
        self._err_pump.join(5)
        return "".join(self._err)

    def stop(self, sig: int) -> tuple[int, str]:
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return code, self.stderr()


class FakeServer:
    """Batch's restJson1 routes answered from a FakeBatch, on 127.0.0.1 from a background thread.

    `tamper(op, request_body, answer)` may replace an answer; every request is recorded with its headers."""

    def __init__(self, fb: FakeBatch | None = None, tamper: Tamper | None = None) -> None:
        self.fb = fb or FakeBatch()
        self.tamper = tamper
        self.requests: list[tuple[str, dict[str, str], dict]] = []
        self.url = ""
        self._server = InThread(self._handle)

    def __enter__(self) -> FakeServer:
        self.url = self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    async def _answer(self, op: str, body: dict) -> dict:
        fb = self.fb
        if op == "describejobqueues":
            try:
                await fb.check_queue((body.get("jobQueues") or [fb.queue])[0])  # no names: every queue
                return {"jobQueues": [{"jobQueueName": fb.queue, "state": "ENABLED"}]}
            except UnknownQueue:
                return {"jobQueues": []}
        if op == "listjobs":
            if not str(body.get("nextToken") or "0").isdigit():  # a token a tamper made up: start again
                body = {k: v for k, v in body.items() if k != "nextToken"}
            return await fb.list_jobs(**body)
        if op == "describejobs":
            return {"jobs": await fb.describe_jobs(body["jobs"])}
        return {}

    async def _handle(self, request: web.Request) -> web.Response:
        op = request.path.rsplit("/", 1)[-1].lower()
        raw = await request.read()
        body = json.loads(raw) if raw.strip() else {}
        self.requests.append((op, dict(request.headers), body))
        answer: Any = await self._answer(op, body)
        if self.tamper is not None:
            replaced = self.tamper(op, body, answer)
            answer = answer if replaced is None else replaced
        if isinstance(answer, web.Response):  # sent as it is (an HTML 404 page, say)
            return answer
        if isinstance(answer, tuple):
            return aws_error(*answer)
        if isinstance(answer, bytes):
            return web.Response(status=200, body=answer, content_type="application/json")
        return web.json_response(answer)


def pipeline(size: int = 12) -> FakeBatch:
    """JobA done → JobB array (some finished, one failed) → JobE plain."""
    fb = FakeBatch()
    fb.add("a", "JobA", "SUCCEEDED")
    fb.add("b", "JobB", "RUNNING", size, [{"jobId": "a"}], child_status="RUNNABLE")
    fb.add("e", "JobE", "PENDING", None, [{"jobId": "b"}])
    for i in range(size // 2):
        fb.set_child("b", i, "SUCCEEDED")
    fb.set_child("b", size // 2, "FAILED")
    fb.set_child("b", size // 2 + 1, "RUNNING")
    return fb
