"""The command line: argument parsing and dispatch only (the contract: README; the design: docs/ARCHITECTURE.md).

    batchtui [--queue Q] ... [--readonly]                 the TUI
    batchtui --demo [--array-size N] [--speed X]          the TUI on the embedded simulator
    batchtui --queue Q --once|--watch [--json] [--until-done]
    batchtui sim ...  |  batchtui cancel ...  |  batchtui retry ...  |  batchtui plans ...  |  batchtui audit ...

Each mode lives in its own module, reached through a `main(args) -> int`. Exit codes: 0 ok, 1 runtime error (one
line on stderr), 2 usage error, 3 `--until-done` saw failures, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import NoReturn

from batchtui import __version__
from batchtui.argtypes import (
    duration,
    endpoint_url,
    int_between,
    job_ref,
    non_negative_float,
    outage,
    positive_duration,
    positive_float,
    region,
    tps,
)
from batchtui.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, BatchtuiError, OutputClosed

SUBCOMMANDS = ("sim", "cancel", "retry", "plans", "audit", "completion")
DEMO_DEFAULTS = {"array_size": 10_000, "speed": 60.0}
SCENARIOS = ("stuck-capacity", "blocked-head", "max-vcpus", "invalid-ce", "disabled-ce", "spot-storm",
             "oom-wave")  # sim/scenarios.py


class Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line (not the whole usage block) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


# --- parsers --------------------------------------------------------------------------------------------------


def _aws_options(p: argparse.ArgumentParser, *, inherited: bool = False) -> None:
    """The AWS flags. `inherited`: on a subcommand, where they may also come before it (`batchtui --profile p
    cancel X`): no defaults of their own there, or they would overwrite what was given before the subcommand."""
    def default(value: object) -> object:
        return argparse.SUPPRESS if inherited else value

    g = p.add_argument_group("AWS")
    g.add_argument("--region", type=region, default=default(None),
                   help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's, as the AWS CLI)")
    g.add_argument("--profile", default=default(None), help="AWS named profile")
    g.add_argument("--endpoint-url", type=endpoint_url, default=default(None),
                   help="Batch API endpoint, e.g. a `batchtui sim` URL")
    g.add_argument("--max-tps", type=tps, default=default(10.0),
                   help="most Batch API requests per second batchtui may make (default 10; the account has 50)")


def main_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="batchtui",
        description="A terminal dashboard for AWS Batch array pipelines.",
        epilog="Defaults come from the config file ($XDG_CONFIG_HOME/batchtui/config.toml, keys named like the long "
               "flags) and BATCHTUI_* environment variables (BATCHTUI_QUEUE, BATCHTUI_MAX_TPS …); flags win. "
               "Exit codes: 0 ok; 1 runtime error (AWS, network, credentials, unknown queue or job); 2 usage error; "
               "3 --until-done saw failures; 130 interrupted (Ctrl-C); 143/129 SIGTERM/SIGHUP.",
    )
    p.add_argument("--version", action="version", version=f"batchtui {__version__}")
    p.add_argument("--queue", help="the job queue to watch (name or ARN)")
    _aws_options(p)
    p.add_argument("--refresh", type=positive_duration, default=5.0, metavar="SECONDS",
                   help="seconds between refreshes (default 5)")
    p.add_argument("--since", type=positive_duration, default=24 * 3600.0, metavar="DURATION",
                   help="show jobs created within this long (default 24h)")
    p.add_argument("--readonly", action="store_true", help="no cancel or retry: actions are impossible")
    p.add_argument("--no-bell", action="store_true", help="no terminal bell on failures")
    p.add_argument("--theme", help="Textual theme name (e.g. textual-dark, nord, gruvbox)")
    demo = p.add_argument_group("demo")
    demo.add_argument("--demo", action="store_true", help="run the dashboard on the embedded simulator")
    # Defaults are filled in by parse(): None tells a flag given without --demo from one left alone.
    demo.add_argument("--array-size", type=int_between(2, 10_000), default=None,
                      help=f"demo: size of the reference arrays (default {DEMO_DEFAULTS['array_size']:,})")
    demo.add_argument("--speed", type=non_negative_float, default=None,
                      help=f"demo: simulated seconds per real second (default {DEMO_DEFAULTS['speed']:g})")
    demo.add_argument("--scenario", choices=SCENARIOS, metavar="NAME", default=None,
                      help="demo: start with an incident, work stuck in RUNNABLE: " + ", ".join(SCENARIOS))
    h = p.add_argument_group("headless")
    mode = h.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one refresh, print the snapshot, exit")
    mode.add_argument("--watch", action="store_true", help="print one snapshot per refresh")
    h.add_argument("--output", choices=("json", "text", "table"), default=None,
                   help="json (camelCase, like the AWS CLI), text (a line per job) or table (aligned columns)")
    h.add_argument("--json", action="store_true", help="the same as --output json")
    h.add_argument("--query", metavar="JMESPATH",
                   help="print only what this JMESPath expression selects from the JSON snapshot, as JSON")
    h.add_argument("--until-done", action="store_true",
                   help="with --watch: exit when the pipeline ends (0 all succeeded, 3 some failed)")
    h.add_argument("--timeout", type=positive_duration, default=None, metavar="DURATION",
                   help="how long one refresh keeps trying through throttling and AWS-side errors before it gives "
                        "up (default: 5m for --once; for --watch twice --refresh, at least 10s, then a stale line)")
    logs = p.add_argument_group("logging")
    logs.add_argument("--debug", action="store_true",
                      help="write batchtui's and botocore's debug log (credentials and signatures redacted)")
    logs.add_argument("--log-file", metavar="PATH",
                      help="where --debug writes (default: batchtui.log in the platform's log directory)")
    return p


def sim_parser() -> Parser:
    p = Parser(prog="batchtui sim", description="A local AWS Batch API simulator.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int_between(0, 65535), default=4566, help="port (default 4566; 0 picks one)")
    p.add_argument("--speed", type=non_negative_float, default=1.0,
                   help="simulated seconds per real second (default 1; 0 freezes the clock)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same run")
    p.add_argument("--pipeline", choices=("reference", "none"), default="reference",
                   help="submit the reference pipeline to ProdQueue at start (default) or nothing")
    p.add_argument("--array-size", type=int_between(2, 10_000), default=10_000,
                   help="size of the reference arrays (default 10,000)")
    p.add_argument("--advance", type=duration, default=0.0, metavar="DURATION",
                   help="run the simulated clock forward before serving, e.g. 90m")
    p.add_argument("--throttle-tps", type=positive_float, metavar="N",
                   help="answer 429 TooManyRequestsException beyond N requests/s")
    p.add_argument("--latency-ms", type=non_negative_float, default=0.0, help="added latency per request")
    p.add_argument("--error-rate", type=int_between(0, 100), default=0, metavar="PERCENT",
                   help="answer this percentage of requests with a 500 ServerException")
    p.add_argument("--outage", type=outage, action="append", default=[], metavar="START+LENGTH",
                   help="real-time outage window after start, e.g. 60s+30s (repeatable): every call gets 503")
    p.add_argument("--world", metavar="FILE",
                   help="a TOML file declaring compute environments, job queues, job definitions and jobs, each table "
                        "the body of its Create/Register/Submit call (see batchtui/sim/world.py)")
    p.add_argument("--scenario", choices=SCENARIOS, metavar="NAME",
                   help="start with something wrong so work sits in RUNNABLE: " + ", ".join(SCENARIOS))
    return p


def action_parser(name: str) -> Parser:
    verb = {"cancel": "Cancel (or terminate, when running)", "retry": "Resubmit failed"}[name]
    p = Parser(prog=f"batchtui {name}", description=f"{verb} jobs or array indices.")
    p.add_argument("targets", nargs="+", type=job_ref, metavar="JOB_ID[:INDEX]",
                   help="job ids, or array child ids JOB_ID:INDEX")
    _aws_options(p, inherited=True)
    if name == "cancel":
        p.add_argument("--reason", help="reason recorded with the job (default: batchtui and your user name)")
    else:
        p.add_argument("--downstream", action="store_true",
                       help="also resubmit what failed because of these jobs, chained to the new ones")
        p.add_argument("--wait", action="store_true",
                       help="stay until every waiting step is submitted (or dropped); Ctrl-C leaves them pending")
        _change_options(p)
    p.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    return p


def _change_options(p: argparse.ArgumentParser) -> None:
    """What the retries of the named jobs change (downstream retries keep their own); refused before anything is
    sent when no instance type of the target queue could hold the result."""
    from batchtui import overrides as o

    g = p.add_argument_group("changes (for the jobs named; checked against the target queue's instance types)")
    g.add_argument("--memory", type=_value(o.parse_memory), metavar="MIB|xFACTOR",
                   help="memory in MiB, or a factor of what the job had (x1.5: rounded up to a whole 256 MiB)")
    g.add_argument("--vcpus", type=_value(o.parse_vcpus), metavar="N", help="vCPUs")
    g.add_argument("--timeout", type=_value(o.parse_timeout), metavar="DURATION",
                   help="attempt timeout, e.g. 2h (at least 60s)")
    # Not `queue`: that is the dashboard's (and the config file's) queue to watch.
    g.add_argument("--queue", dest="retry_queue", type=_value(o.parse_queue), metavar="QUEUE",
                   help="submit the retries to this job queue instead of the original's")
    g.add_argument("--env", type=_value(o.parse_env), action="append", default=[], metavar="KEY=VALUE",
                   help="set an environment variable in the retries (repeatable)")


def _value(parse: Callable[[str], object]) -> Callable[[str], object]:
    """A parser of overrides.py as an argparse type: its ValueError becomes the usual one-line usage error."""
    def check(text: str) -> object:
        try:
            return parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    check.__name__ = parse.__name__.removeprefix("parse_")  # argparse names the type in its message
    return check


def audit_parser() -> Parser:
    p = Parser(prog="batchtui audit", description="The actions batchtui has sent (cancel, retry), one line each: "
               "who, where, what, and how each ended – an interrupted one as 'interrupted – outcome unknown'.")
    p.add_argument("-n", "--last", type=int_between(0, 1_000_000), default=20, metavar="N",
                   help="show the last N actions (default 20; 0 for all)")
    p.add_argument("--json", action="store_true", help="one JSON array of the actions")
    p.add_argument("--file", help="the audit log to read (default: $XDG_STATE_HOME/batchtui/actions.jsonl)")
    return p


def plans_parser() -> Parser:
    p = Parser(prog="batchtui plans", description="Pending plans: retry steps that wait for work still running "
               "(kept in $XDG_STATE_HOME/batchtui/plans/), sent by batchtui once their condition holds.")
    p.add_argument("verb", nargs="?", choices=("list", "cancel", "wait"), default="list",
                   help="list (default), cancel ID, or wait ID (submit its steps from here as they become ready)")
    p.add_argument("plan_id", nargs="?", metavar="ID", help="the plan's id (from `batchtui plans`)")
    p.add_argument("--json", action="store_true", help="JSON instead of lines")
    _aws_options(p, inherited=True)
    return p


def completion_parser() -> Parser:
    p = Parser(prog="batchtui completion", description="Print a shell completion script: "
               "`source <(batchtui completion bash)`, or save it where your shell loads completions.")
    p.add_argument("shell", choices=("bash", "zsh", "fish"))
    return p


SUBCOMMAND_HELP = {"sim": "a local AWS Batch API simulator", "cancel": "cancel (or terminate) jobs or indices",
                   "retry": "resubmit failed jobs or indices", "audit": "the actions batchtui has sent",
                   "plans": "pending plans (retry steps waiting for work still running)",
                   "completion": "a shell completion script"}


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: the dashboard's and headless flags, then real subcommands (flags such as --profile
    may come before or after the subcommand)."""
    p = main_parser()
    sub = p.add_subparsers(dest="command", metavar="{sim,cancel,retry,plans,audit,completion}", parser_class=Parser)
    own = {"sim": sim_parser, "audit": audit_parser, "completion": completion_parser, "plans": plans_parser}
    for name in SUBCOMMANDS:
        parent = own[name]() if name in own else action_parser(name)
        # The subcommand's parser reuses the one built for it (its -h included): one definition of each flag.
        sub.add_parser(name, parents=[parent], add_help=False, help=SUBCOMMAND_HELP[name],
                       description=parent.description)
    return p


def parse(argv: Sequence[str], defaults: Mapping[str, object] | None = None) -> argparse.Namespace:
    """`defaults` (from the config file and BATCHTUI_* variables) stand in for built-in defaults; flags win."""
    parser = build_parser()
    if defaults:
        parser.set_defaults(**defaults)
    args = parser.parse_args(list(argv))
    if args.command is not None:
        return args
    args.command = "headless" if (args.once or args.watch) else "tui"
    if args.json:
        if args.output not in (None, "json"):
            parser.error(f"--json and --output {args.output} disagree")
        args.output = "json"
    if args.query:
        if args.output not in (None, "json"):
            parser.error("--query prints JSON: it goes with --output json (or no --output)")
        args.output = "json"
        args.query = check_query(args.query, parser)
    args.json = args.output == "json"
    if args.until_done and not args.watch:
        parser.error("--until-done goes with --watch")
    if args.output and not (args.once or args.watch):
        parser.error(f"{'--json' if args.json else '--output'} goes with --once or --watch")
    if args.demo and (args.once or args.watch):
        parser.error("--demo opens the dashboard; use `batchtui sim` with --endpoint-url for headless runs")
    if not args.demo and not args.queue:
        parser.error("--queue is required (or --demo to try batchtui on the simulator)")
    given = [f"--{k.replace('_', '-')}" for k in (*DEMO_DEFAULTS, "scenario") if getattr(args, k) is not None]
    if given and not args.demo:
        parser.error(f"{' and '.join(given)} go{'es' if len(given) == 1 else ''} with --demo "
                     "(for a simulator of your own: `batchtui sim`)")
    for k, v in DEMO_DEFAULTS.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    return args


def check_query(text: str, parser: argparse.ArgumentParser) -> object:
    """A compiled JMESPath expression (jmespath comes with botocore), or a usage error naming the problem."""
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(text)
    except JMESPathError as e:
        parser.error(f"--query is not a JMESPath expression: {' '.join(str(e).split())}")


def _dispatch(args: argparse.Namespace) -> int:
    # Imported lazily: `batchtui sim` must not pay for Textual, nor headless runs for the UI.
    if args.command == "sim":
        from batchtui.sim import server

        return server.main(args)
    if args.command in ("cancel", "retry"):
        from batchtui import actions

        return actions.main(args)
    if args.command == "plans":
        from batchtui import actions

        return actions.plans_main(args)
    if args.command == "audit":
        from batchtui import audit

        return audit.main(args)
    if args.command == "completion":
        import shtab

        print(shtab.complete(build_parser(), shell=args.shell))
        return EXIT_OK
    if args.command == "headless":
        from batchtui import headless

        return headless.main(args)
    from batchtui.ui import app

    return app.main(args)


def main(argv: Sequence[str] | None = None) -> int:
    from batchtui import config, debuglog

    try:
        defaults = config.defaults()
    except BatchtuiError as e:  # a config file or BATCHTUI_* value that is wrong: a usage error, nothing started
        print(f"batchtui: {e}", file=sys.stderr)
        return e.exit_code
    args = parse(sys.argv[1:] if argv is None else argv, defaults)
    try:
        debuglog.setup(getattr(args, "debug", False), getattr(args, "log_file", None))
        return _dispatch(args)
    except OutputClosed as e:
        _quiet_stdout()
        print(f"batchtui: {e}", file=sys.stderr)
        return e.exit_code
    except BatchtuiError as e:
        print(f"batchtui: {e}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:
        # The reader went away (`| head -1`) after what it wanted: stop quietly, as headless does, not with a
        # traceback (`batchtui retry ... --dry-run | head -1` printed one). A mode for which a lost stdout matters
        # says so itself (OutputClosed).
        _quiet_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _quiet_stdout() -> None:
    """Keep Python from reporting the closed pipe again when it flushes stdout at exit."""
    try:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
