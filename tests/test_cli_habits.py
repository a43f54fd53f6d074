"""The AWS CLI's and the terminal's habits: the region as the AWS CLI v2 finds it, --version, real subcommands,
a config file and BATCHTUI_* defaults below the flags, shell completion, a redacted debug log, one line for an SSO
profile that is not logged in, --output/--query, screenshots that land in a directory that exists."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from batchtui import cli, config

sys.path.insert(0, str(Path(__file__).resolve().parent / "reliability"))
from reliability_http import FakeServer, clean_env, dummy_env, pipeline, run, run_here  # noqa: E402


def test_the_region_comes_from_the_flag_then_aws_region_then_aws_default_region_then_the_profile(tmp_path, monkeypatch,
                                                                                                   capsys):
    (tmp_path / "config").write_text("[default]\nregion = ap-south-1\n")

    def region(*flags: str, **env: str) -> str:
        e = clean_env(tmp_path, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y", **env)
        (tmp_path / "config").write_text("[default]\nregion = ap-south-1\n")
        with FakeServer(pipeline()) as server:
            r = run_here(["--queue", "ProdQueue", "--once", "--json", "--endpoint-url", server.url, *flags], e,
                         monkeypatch, capsys)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)["region"]

    assert region() == "ap-south-1"
    assert region(AWS_DEFAULT_REGION="us-west-2") == "us-west-2"
    assert region(AWS_DEFAULT_REGION="us-west-2", AWS_REGION="eu-west-1") == "eu-west-1"
    assert region("--region", "us-east-2", AWS_REGION="eu-west-1") == "us-east-2"


def test_version_and_subcommands_with_flags_before_them(capsys):
    with pytest.raises(SystemExit) as e:
        cli.parse(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("batchtui 0.")
    args = cli.parse(["--profile", "prod", "--region", "eu-west-1", "cancel", "abc", "--dry-run"])
    assert (args.command, args.profile, args.region, args.targets) == ("cancel", "prod", "eu-west-1", ["abc"])
    assert cli.parse(["retry", "abc", "--profile", "dev"]).profile == "dev"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_scripts_know_the_subcommands_and_flags(shell, capsys):
    assert cli.main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "batchtui" in script and "retry" in script and "--max-tps" in script


def test_config_file_then_environment_then_flags(tmp_path, monkeypatch):
    file = tmp_path / "config.toml"
    file.write_text('queue = "FromFile"\nmax-tps = 4\nreadonly = true\nsince = "2h"\n[keys]\n"jobs.open" = "o"\n')
    got = config.defaults({"BATCHTUI_MAX_TPS": "2.5"}, file)
    assert got == {"queue": "FromFile", "max_tps": 2.5, "readonly": True, "since": 7200.0, "keymap": {"jobs.open": "o"}}
    args = cli.parse(["--max-tps", "7"], got)
    assert (args.queue, args.max_tps, args.readonly, args.since) == ("FromFile", 7.0, True, 7200.0)


@pytest.mark.parametrize("text, fragment", [
    ("queue = \n", "not valid TOML"),
    ('colour = "red"\n', "unknown key 'colour'"),
    ("max-tps = 0.001\n", "max-tps: must be at least 0.1"),
    ('since = "soon"\n', "since: not a duration"),
    ("readonly = \"maybe\"\n", "readonly: not true or false"),
])
def test_a_bad_config_file_is_one_line_naming_it_and_exit_2(text, fragment, tmp_path, monkeypatch, capsys):
    file = tmp_path / "config.toml"
    file.write_text(text)
    r = run_here(["--queue", "Q", "--once"], dummy_env(tmp_path, BATCHTUI_CONFIG=str(file)), monkeypatch, capsys)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and str(file) in r.stderr and fragment in r.stderr


def test_a_bad_environment_value_and_an_unknown_key_id_are_usage_errors(tmp_path, monkeypatch, capsys):
    r = run_here(["--queue", "Q", "--once"], dummy_env(tmp_path, BATCHTUI_REFRESH="never"), monkeypatch, capsys)
    assert r.returncode == 2 and "BATCHTUI_REFRESH" in r.stderr and r.stderr.count("\n") == 1
    file = tmp_path / "config.toml"
    file.write_text('[keys]\n"jobs.explode" = "x"\n')
    r = run_here(["--queue", "Q"], dummy_env(tmp_path, BATCHTUI_CONFIG=str(file)), monkeypatch, capsys)
    assert r.returncode == 2 and "unknown key binding id in [keys]: jobs.explode" in r.stderr


def test_the_chosen_theme_is_remembered_without_touching_the_rest(tmp_path):
    file = tmp_path / "batchtui" / "config.toml"
    config.remember_theme("nord", file)
    assert config.read(file) == {"theme": "nord"}
    file.write_text('queue = "Q"\ntheme = "nord"\n[keys]\n"jobs.open" = "o"\n')
    config.remember_theme("textual-light", file)
    assert config.read(file) == {"queue": "Q", "theme": "textual-light", "keys": {"jobs.open": "o"}}


def test_debug_writes_a_redacted_log_and_the_terminal_stays_quiet(tmp_path):
    log = tmp_path / "logs" / "debug.log"
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    env = clean_env(tmp_path, AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY=secret,
                    AWS_DEFAULT_REGION="us-east-1")
    with FakeServer(pipeline()) as server:
        r = run(["--debug", "--log-file", str(log), "--queue", "ProdQueue", "--once", "--endpoint-url", server.url],
                env)
    assert r.returncode == 0 and r.stderr == ""
    text = log.read_text()
    assert "botocore" in text and "ListJobs" in text.replace("listjobs", "ListJobs")
    assert "AKIAIOSFODNN7EXAMPLE" not in text and secret not in text and "Signature=[redacted]" in text
    r = run(["--debug", "--log-file", "/proc/nope/debug.log", "--queue", "Q", "--once"], env, timeout=30)
    assert r.returncode == 2 and "cannot write the debug log /proc/nope/debug.log" in r.stderr


def test_an_sso_profile_that_is_not_logged_in_is_one_line(tmp_path, monkeypatch, capsys):
    env = clean_env(tmp_path)
    (tmp_path / "config").write_text(
        "[profile sso-dev]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
        "sso_account_id = 123456789012\nsso_role_name = ReadOnly\nregion = us-east-1\n")
    with FakeServer(pipeline()) as server:
        r = run_here(["--queue", "ProdQueue", "--once", "--profile", "sso-dev", "--endpoint-url", server.url], env,
                     monkeypatch, capsys)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "aws sso login --profile sso-dev" in r.stderr


def test_output_table_and_query(tmp_path, monkeypatch, capsys):
    env = dummy_env(tmp_path)
    with FakeServer(pipeline()) as server:
        base = ["--queue", "ProdQueue", "--once", "--endpoint-url", server.url]
        table = run_here([*base, "--output", "table"], env, monkeypatch, capsys)
        query = run_here([*base, "--query", "jobs[?status=='FAILED'].jobName"], env, monkeypatch, capsys)
        bad = run_here([*base, "--query", "jobs[?"], env, monkeypatch, capsys)
    assert table.returncode == 0 and table.stdout.splitlines()[1].split()[:3] == ["JOB", "STATUS", "DONE"]
    assert query.returncode == 0 and isinstance(json.loads(query.stdout), list)
    assert bad.returncode == 2 and "--query is not a JMESPath expression" in bad.stderr


async def test_a_screenshot_lands_in_the_current_directory_and_says_where(tmp_path, monkeypatch):
    sys.path.insert(0, str(Path(__file__).resolve().parent / "ui"))
    import ui_factory as f

    from batchtui.ui.app import BatchtuiApp

    monkeypatch.chdir(tmp_path)
    app = BatchtuiApp(f.reference_source(50), refresh_s=3600, bell=False, clock=lambda: f.NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            if app.snap is not None:
                break
            await pilot.pause(0.01)
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = list(tmp_path.glob("*.svg"))
        assert len(saved) == 1 and any(str(saved[0]) in n.message for n in app._notifications)

