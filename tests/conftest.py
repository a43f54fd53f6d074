"""For the whole suite: the client's retry waits (botocore's backoff between attempts and batchtui's own) and its
read patience at a small fraction of their real length, here and in every `batchtui` subprocess a test starts (they
inherit the environment). The attempts are the same, so everything a test counts is the same; only the waiting is
shorter. `aws.RETRY_SCALE_ENV` explains the variable; a test of the real timing sets or removes it itself."""

import os

import pytest

os.environ.setdefault("BATCHTUI_RETRY_SCALE", "0.05")


@pytest.hookimpl(optionalhook=True)  # without xdist (`-p no:xdist`) there is no such hook
def pytest_xdist_auto_num_workers(config):
    """`-n auto` (the default, see pyproject.toml): twice the cores, since about half of the suite's time is spent
    waiting – on subprocesses, on sockets, on the simulator – rather than computing."""
    return 2 * (os.cpu_count() or 1)


@pytest.fixture(autouse=True)
def _own_state_dir(monkeypatch, tmp_path):
    """batchtui's state directory (the audit log, waiting plans) is the test's own, never the user's: a dashboard
    under test reads pending plans at every refresh, and one left in ~/.local/state would change what it shows. It is
    `tmp_path / "state"`, where a test finds what batchtui wrote (`state/batchtui/actions.jsonl`)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture
def dummy_credentials(monkeypatch):
    """Opt-in, for tests whose client talks to the simulator or a fake server in this process (a module says
    `pytestmark = pytest.mark.usefixtures("dummy_credentials")`): fake keys, and nothing of the machine's AWS setup –
    no profile, session token or endpoint override, no config or credentials file, no instance metadata lookup.
    Opt-in because other tests are about exactly that setup (regions, profiles, missing credentials)."""
    for var in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def fresh_registry(monkeypatch):
    """Opt-in: the process-wide registry of plans already run starts empty, as if each test were its own process
    (the same plan is refused a second time within one)."""
    from batchtui import execute

    monkeypatch.setattr(execute, "REGISTRY", execute.Registry())
