"""Where batchtui keeps what must outlive a process (the audit log, waiting plans): one rule for all of them."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    """$XDG_STATE_HOME/batchtui, else the platform's user state directory (platformdirs)."""
    xdg = os.environ.get("XDG_STATE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec says to ignore a relative path
        return Path(xdg) / "batchtui"
    from platformdirs import user_state_dir

    return Path(user_state_dir("batchtui"))
