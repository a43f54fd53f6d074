"""Text from AWS never reaches a terminal raw: escapes and control characters are stripped from text output."""

from __future__ import annotations

import io
import json

from fakebatch import FakeBatch

from batchtui.headless import Printer
from batchtui.poller import Poller
from batchtui.sanitize import printable

HOSTILE = "\x1b]2;PWNED\x07\x1b[2J\x1b[31mRED\x1b[0m\r\nfake line"


def test_printable_strips_osc_csi_and_line_breaks():
    assert printable(HOSTILE) == "RED fake line"
    assert printable("a\x9b31mb\x00c\x7fd") == "abcd"
    assert printable("plain text – ünïcode ✔") == "plain text – ünïcode ✔"


async def test_text_output_has_no_escape_from_a_hostile_job_name_but_json_keeps_it_exact():
    fb = FakeBatch()
    fb.add("a", "Job" + HOSTILE, "FAILED", statusReason=HOSTILE, startedAt=1_000, stoppedAt=2_000)
    snap = await Poller(fb, "ProdQueue").refresh()
    text, js = io.StringIO(), io.StringIO()
    Printer(False, text).snapshot(snap)
    Printer(True, js).snapshot(snap)
    printed = text.getvalue()
    assert "\x1b" not in printed and "\x07" not in printed and "\r" not in printed
    assert "fake line" not in printed.splitlines()  # no forged line of its own
    assert json.loads(js.getvalue())["jobs"][0]["jobName"] == "Job" + HOSTILE
