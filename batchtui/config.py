"""Defaults from a config file and the environment, below the command line's flags.

    $XDG_CONFIG_HOME/batchtui/config.toml   (platformdirs' user config directory; BATCHTUI_CONFIG names another)

    queue = "ProdQueue"        # keys are the long flags: queue region profile endpoint-url refresh since max-tps
    max-tps = 5                #                         theme readonly no-bell
    [keys]                     # remap the dashboard's keys by binding id (`?` lists them), e.g.
    "jobs.open" = "enter,o"

Between the two come BATCHTUI_* variables (BATCHTUI_QUEUE, BATCHTUI_MAX_TPS, BATCHTUI_READONLY=1 …). Every value is
checked by the same parser as its flag; a file that does not parse, an unknown key or a bad value is one line
naming the file (or variable) and the problem, exit 2, before anything starts.
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from batchtui import argtypes
from batchtui.errors import UsageError

ENV_PREFIX = "BATCHTUI_"
KEYS_TABLE = "keys"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _flags() -> dict[str, Callable[[str], Any]]:
    return {"queue": str, "region": argtypes.region, "profile": str, "endpoint-url": argtypes.endpoint_url,
            "refresh": argtypes.positive_duration, "since": argtypes.positive_duration, "max-tps": argtypes.tps,
            "theme": str, "readonly": _boolean, "no-bell": _boolean}


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"not true or false: {text!r}")


def path() -> Path:
    given = os.environ.get(ENV_PREFIX + "CONFIG")
    if given:
        return Path(given).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("batchtui")) / "config.toml"


def defaults(environ: Mapping[str, str] | None = None, file: Path | None = None) -> dict[str, Any]:
    """argparse defaults (dest names) from the file, then the environment on top; `keymap` holds [keys]."""
    environ = os.environ if environ is None else environ
    file = file or path()
    out: dict[str, Any] = {}
    raw = read(file)
    keymap = raw.pop(KEYS_TABLE, None)
    flags = _flags()
    for key, value in raw.items():
        if key not in flags:
            raise UsageError(f"{file}: unknown key {key!r} (known: {', '.join(flags)}, [{KEYS_TABLE}])")
        out[_dest(key)] = _convert(flags[key], value, f"{file}: {key}")
    for key, convert in flags.items():
        name = ENV_PREFIX + key.upper().replace("-", "_")
        if name in environ:
            out[_dest(key)] = _convert(convert, environ[name], name)
    if keymap is not None:
        if not isinstance(keymap, dict) or not all(isinstance(v, str) for v in keymap.values()):
            raise UsageError(f"{file}: [{KEYS_TABLE}] maps binding ids to keys, e.g. \"jobs.open\" = \"enter,o\"")
        out["keymap"] = dict(keymap)
    return out


def read(file: Path) -> dict[str, Any]:
    try:
        with open(file, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{file}: not valid TOML: {e}") from None
    except OSError as e:
        raise UsageError(f"{file}: cannot be read: {e.strerror or e}") from None


def _dest(key: str) -> str:
    return key.replace("-", "_")


def _convert(convert: Callable[[str], Any], value: Any, where: str) -> Any:
    if isinstance(value, bool) and convert is _boolean:
        return value
    if isinstance(value, dict | list) or (isinstance(value, bool) and convert is not _boolean):
        raise UsageError(f"{where}: not a single value: {value!r}")
    try:
        return convert(str(value))
    except argparse.ArgumentTypeError as e:
        raise UsageError(f"{where}: {e}") from None


_TOP_KEY = re.compile(r"^\s*theme\s*=.*$")


def remember_theme(name: str, file: Path | None = None) -> Path:
    """Write `theme = "name"` into the config file (created if missing), keeping everything else as it was."""
    file = file or path()
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    entry = f"theme = {name!r}".replace("'", '"')
    first_table = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
    for i in range(first_table):
        if _TOP_KEY.match(lines[i]):
            lines[i] = entry
            break
    else:
        lines.insert(0, entry)
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(file)
    return file
