"""The command-line contract: usage errors are one line and exit 2; modes dispatch as the README says."""

import subprocess
import sys

import pytest

from batchtui import cli


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--queue", "Q", "--refresh", "0"], "--refresh"),
        (["--queue", "Q", "--refresh", "soon"], "not a duration"),
        (["--queue", "Q", "--since", "-5m"], "--since"),
        (["--queue", "Q", "--max-tps", "0"], "--max-tps"),
        (["--queue", "Q", "--max-tps", "nan"], "--max-tps"),
        (["--queue", "Q", "--region", "mars"], "not an AWS region"),
        (["--queue", "Q", "--endpoint-url", "localhost:4566"], "not an http(s) URL"),
        (["--queue", "Q", "--endpoint-url", "http://127.0.0.1:99999"], "bad port"),
        (["--queue", "Q", "--once", "--watch"], "not allowed with"),
        (["--queue", "Q", "--once", "--until-done"], "--until-done goes with --watch"),
        (["--queue", "Q", "--json"], "--json goes with"),
        ([], "--queue is required"),
        (["--demo", "--array-size", "1"], "between 2 and 10,000"),
        (["--demo", "--once"], "--demo opens the dashboard"),
        (["--queue", "Q", "--array-size", "50"], "--array-size goes with --demo"),
        (["--queue", "Q", "--once", "--speed", "5", "--array-size", "50"], "--array-size and --speed go with --demo"),
        (["sim", "--port", "-1"], "--port"),
        (["sim", "--pipeline", "big"], "invalid choice"),
        (["cancel"], "required"),
        (["retry", "abc", "--reason", "x"], "unrecognized arguments"),
        # A malformed JOB_ID:INDEX is a usage error, not an unknown job sent to AWS (exit 1) or a traceback.
        (["retry", "abc:-1"], "not a job id"),
        (["retry", "abc:x"], "not a job id"),
        (["retry", "abc:"], "not a job id"),
        (["cancel", ":5"], "not a job id"),
        (["cancel", "abc:1:2"], "not a job id"),
        (["cancel", "abc:\u00b2"], "not a job id"),  # '²'.isdigit() is true, int('²') is not
        # Every flag's bad value reads the same way, --outage included (it was the simulator's own line).
        (["sim", "--outage", "60s"], "argument --outage: not START+LENGTH"),
        (["sim", "--outage", "60s+0"], "argument --outage: the length must be more than zero"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse(argv)
    assert exit_info.value.code == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert fragment in err


def test_modes_are_recognised():
    assert cli.parse(["--queue", "Q", "--once", "--json"]).command == "headless"
    assert cli.parse(["--queue", "Q", "--watch", "--until-done"]).command == "headless"
    assert cli.parse(["--queue", "Q"]).command == "tui"
    assert cli.parse(["--demo"]).command == "tui"
    demo = cli.parse(["--demo"])
    assert (demo.array_size, demo.speed) == (10_000, 60.0)  # the defaults, filled in after the --demo check
    args = cli.parse(["sim", "--port", "0", "--advance", "90m"])
    assert (args.command, args.port, args.advance) == ("sim", 0, 5400.0)
    args = cli.parse(["retry", "abc:7", "def", "--downstream", "--yes"])
    assert (args.command, args.targets, args.downstream, args.yes) == ("retry", ["abc:7", "def"], True, True)
    args = cli.parse(["cancel", "abc", "--reason", "stuck", "--dry-run"])
    assert (args.reason, args.dry_run, args.max_tps) == ("stuck", True, 10.0)


def test_job_refs_keep_indices_and_arns():
    args = cli.parse(["cancel", "abc:0", "abc:9999", "arn:aws:batch:us-east-1:123456789012:job/abc", "--yes"])
    assert args.targets == ["abc:0", "abc:9999", "arn:aws:batch:us-east-1:123456789012:job/abc"]
    assert cli.parse(["sim", "--outage", "60s+30s", "--outage", "2m+1m"]).outage == ["60s+30s", "2m+1m"]


def test_help_names_every_exit_code(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse(["--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert all(f in out for f in ("0 ok", "1 runtime error", "2 usage error", "3 --until-done", "130 interrupted"))


def test_defaults_follow_the_contract():
    args = cli.parse(["--queue", "ProdQueue"])
    assert (args.refresh, args.since, args.max_tps, args.readonly) == (5.0, 86400.0, 10.0, False)


def test_core_modules_never_import_textual():
    # docs/ARCHITECTURE.md: everything outside batchtui/ui is importable without Textual.
    code = (
        "import sys, importlib, pkgutil, batchtui\n"
        "for m in pkgutil.walk_packages(batchtui.__path__, 'batchtui.'):\n"
        "    if not m.name.startswith('batchtui.ui'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_cli_offers_exactly_the_simulators_scenarios():
    from batchtui.sim.scenarios import SCENARIOS

    assert cli.SCENARIOS == SCENARIOS
    assert cli.parse(["--demo", "--scenario", "blocked-head"]).scenario == "blocked-head"
