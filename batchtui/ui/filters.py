"""The array screen's `/` filter: which indices of an array match, as a byte mask (pure, no Textual).

Syntax (case-insensitive; terms separated by spaces):
    status:FAILED            a status (or several: status:failed,running); a bare status name works too (failed)
    exit:137                 an exit code (exit:1,137)
    reason:memory            text in the container reason or status reason (quote text with spaces:
                             reason:"Essential container")
    group:oom                the failure group (triage.py): oom spot timeout start dependency cancelled app
    doomed                   not finished but can no longer succeed (analysis.py: its dependency failed)
    retried                  re-run by a batchtui retry (lineage.py); its status is then the retry's
    100-199   42   5000-     an index, a range, an open range
    !status:SUCCEEDED        any term negated
Terms of the same kind are OR-ed, different kinds AND-ed: `status:failed status:running 0-999` means (FAILED or
RUNNING) and index 0..999.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from batchtui.model import ArrayState, Status
from batchtui.triage import CAUSES, causes_of


class FilterError(ValueError):
    """The filter text cannot be understood; the message says which term and why."""


@dataclass(frozen=True, slots=True)
class Term:
    kind: str  # status / exit / reason / group / doomed / retried / range
    negate: bool
    statuses: frozenset[int] = frozenset()
    codes: frozenset[int] = frozenset()
    text: str = ""
    low: int = 0
    high: int | None = None  # inclusive; None = open


@dataclass(frozen=True, slots=True)
class Filter:
    text: str
    terms: tuple[Term, ...]

    def mask(self, array: ArrayState, doomed: bytes = b"", retried: bytes = b"") -> bytes:
        """One byte per index: 1 when it matches. `doomed`: the array's doomed mask (analysis.Analysis.doomed_mask),
        `retried`: 1 per index a retry re-ran – facts about the pipeline, not the array alone, that the `doomed` and
        `retried` terms need."""
        size = array.size
        if not self.terms:
            return b"\x01" * size
        full = (1 << size) - 1
        groups: dict[str, int] = {}
        for t in self.terms:
            facts = {"doomed": doomed, "retried": retried}
            bits = _bits(facts[t.kind][:size]) if t.kind in facts else _term_bits(t, array)
            if t.negate:
                bits = full & ~bits
            groups[t.kind] = groups.get(t.kind, 0) | bits
        result = full
        for bits in groups.values():
            result &= bits
        return _to_mask(result, size)


_RANGE = re.compile(r"^(\d+)?-(\d+)?$")
_STATUS_NAMES = {s.name.lower(): s for s in Status}


def parse(text: str) -> Filter:
    try:
        words = shlex.split(text)
    except ValueError as e:  # an unclosed quote
        raise FilterError(f"{e} in {text.strip()!r}") from None
    terms = [_term(word) for word in words]
    return Filter(text.strip(), tuple(terms))


def _term(word: str) -> Term:
    negate = word.startswith("!")
    body = word[1:] if negate else word
    key, sep, value = body.partition(":")
    key = key.lower()
    if not sep:
        if body.isdigit():
            return Term("range", negate, low=int(body), high=int(body))
        if m := _RANGE.match(body):
            return _range(word, negate, m)
        if body.lower() in _STATUS_NAMES:
            key, value = "status", body
        elif body.lower() in ("doomed", "retried"):
            return Term(body.lower(), negate)
        else:
            raise FilterError(f"not understood: {word!r} (try status:FAILED, exit:137, 100-199, reason:memory, doomed)")
    if not value:
        raise FilterError(f"{key}: needs a value, e.g. {key}:{'FAILED' if key == 'status' else '137'}")
    values = [v for v in value.split(",") if v]
    if key in ("status", "s"):
        unknown = [v for v in values if v.lower() not in _STATUS_NAMES]
        if unknown:
            names = ", ".join(s.name for s in Status if s is not Status.UNKNOWN)
            raise FilterError(f"unknown status {unknown[0]!r} (one of {names})")
        return Term("status", negate, statuses=frozenset(int(_STATUS_NAMES[v.lower()]) for v in values))
    if key in ("exit", "e", "code"):
        try:
            return Term("exit", negate, codes=frozenset(int(v) for v in values))
        except ValueError:
            raise FilterError(f"exit: wants whole numbers, e.g. exit:137 (got {value!r})") from None
    if key in ("reason", "r"):
        return Term("reason", negate, text=value.lower())
    if key in ("group", "g", "cause"):
        unknown = [v for v in values if v.lower() not in CAUSES]
        if unknown:
            raise FilterError(f"unknown group {unknown[0]!r} (one of {', '.join(CAUSES)})")
        return Term("group", negate, text=",".join(v.lower() for v in values))
    if key in ("index", "i", "range"):
        if value.isdigit():
            return Term("range", negate, low=int(value), high=int(value))
        if m := _RANGE.match(value):
            return _range(word, negate, m)
        raise FilterError(f"index: wants a number or a range, e.g. 100-199 (got {value!r})")
    raise FilterError(f"unknown filter {key!r}: use status:, exit:, reason:, group:, doomed, "
                      "or an index range like 100-199")


def _range(word: str, negate: bool, m: re.Match[str]) -> Term:
    low = int(m.group(1)) if m.group(1) else 0
    high = int(m.group(2)) if m.group(2) else None
    if m.group(1) is None and m.group(2) is None:
        raise FilterError(f"empty range {word!r}: write it like 100-199")
    if high is not None and high < low:
        raise FilterError(f"range {word!r} ends before it starts")
    return Term("range", negate, low=low, high=high)


def _to_mask(bits: int, size: int) -> bytes:
    """Bit i of an int -> byte i. Python ints have no per-bit view: a binary string (built in C) reversed is cheap."""
    digits = format(bits, f"0{size}b")[::-1] if size else ""
    return digits.encode().translate(_ASCII01)


_ASCII01 = bytes.maketrans(b"01", b"\x00\x01")


def _bits(mask: bytes) -> int:
    """Byte mask (0/1 per index) -> int with bit i set for index i."""
    if not mask:
        return 0
    return int(mask.translate(_TO_ASCII)[::-1], 2)


_TO_ASCII = bytes(48 + (1 if b else 0) for b in range(256))


def _term_bits(t: Term, array: ArrayState) -> int:
    size = array.size
    if t.kind == "status":
        table = bytes(1 if b in t.statuses else 0 for b in range(256))
        return _bits(array.statuses.translate(table))
    if t.kind == "group":
        wanted = set(t.text.split(","))
        return sum(1 << i for i, cause in causes_of(array).items() if cause in wanted and i < size)
    if t.kind == "range":
        high = size - 1 if t.high is None else min(t.high, size - 1)
        if t.low > high:
            return 0
        return ((1 << (high - t.low + 1)) - 1) << t.low
    bits = 0
    for i, d in array.details.items():
        if not 0 <= i < size:
            continue
        if t.kind == "exit":
            codes = {d.exit_code, *(a.exit_code for a in d.attempts)} - {None}
            hit = bool(codes & t.codes)
        else:
            hay = " ".join(x for x in (d.reason, d.status_reason, *(a.reason or "" for a in d.attempts)) if x)
            hit = t.text in hay.lower()
        if hit:
            bits |= 1 << i
    return bits


def matches(mask: bytes) -> list[int]:
    """Indices set in a mask."""
    out, i = [], mask.find(1)
    while i >= 0:
        out.append(i)
        i = mask.find(1, i + 1)
    return out
