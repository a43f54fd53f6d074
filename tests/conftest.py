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
def _own_state_dir(monkeypatch, tmp_path_factory):
    """batchtui's state directory (the audit log, waiting plans) is the test's own, never the user's: a dashboard
    under test reads pending plans at every refresh, and one left in ~/.local/state would change what it shows. Tests
    that look at the directory set XDG_STATE_HOME themselves."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
