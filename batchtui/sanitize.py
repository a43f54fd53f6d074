"""Text that came from AWS (names, reasons, parameters, log lines) made safe for a terminal.

Anyone with batch:CancelJob chooses a statusReason, and a job's code writes its own log: an escape sequence in
either could retitle the terminal, wipe it or forge lines. Whatever is drawn or printed as text goes through
`printable`; JSON needs nothing (json.dumps escapes every control character, and keeps the value exact).
"""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ … final), OSC/DCS/APC/PM/SOS (ESC ] … BEL or ST), and two-byte escapes;
# then the 8-bit C1 forms of CSI and OSC.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\]P_^X].*?(?:\x07|\x1b\\|$)"
    r"|\x1b[@-Z\\-_]?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
    r"|[\x90\x9d\x9e\x9f].*?(?:\x07|\x9c|$)",
    re.DOTALL,
)
_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029\x85]+")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with escape sequences removed, line breaks as one space and any other control character dropped."""
    text = _ESCAPES.sub("", text)
    text = _LINE_BREAKS.sub(" ", text)
    return _CONTROLS.sub("", text)


def printable_lines(text: str) -> str:
    """Each line of our own multi-line text (a plan, an outcome) made printable, the line breaks kept."""
    return "\n".join(printable(line) for line in text.splitlines())
