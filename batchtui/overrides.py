"""What a retry changes (pure): memory, vCPUs, timeout, queue and environment for the jobs a person picked.

    changes = Overrides.parse("memory=x1.5 timeout=2h env=LOG_LEVEL=debug")   # the plan window's line
    changes = Overrides(memory=Memory(factor=1.5))                             # `batchtui retry --memory x1.5`
    got = resolve(changes, job, world)   # Resolved(memory_mib=6144, …), or Refused with the reason

The CLI flags (`--memory MIB|xFACTOR --vcpus N --timeout DURATION --queue QUEUE --env KEY=VALUE`) and the plan
window's `key=value` line parse their values here, so both accept and refuse the same things. A factor multiplies
what the job had and is rounded up to what an instance gives: a whole 256 MiB (Fargate: its next allowed size), and
when the larger size fits no instance the target queue may launch but an instance would hold more than the job had,
the most such an instance offers. Whether the result can run at all is the capacity check's (`capacity.fit_problem`):
an override that no instance type of the target queue holds is refused, never sent.
"""

from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass, field

from batchtui import capacity
from batchtui import instance_types as it
from batchtui.capacity import Needs, World
from batchtui.durations import parse_duration
from batchtui.errors import BatchtuiError
from batchtui.model import INDEX_ENV, INDICES_ENV, Job

MIN_MEMORY_MIB = 4  # SubmitJob: a container needs at least 4 MiB
MIN_TIMEOUT_S = 60  # SubmitJob: attemptDurationSeconds is at least 60
MEMORY_STEP_MIB = 256
MAX_FACTOR = 16.0
RESERVED_ENV = ("AWS_BATCH",)  # SubmitJob refuses variables starting with it
KEYS = ("memory", "vcpus", "timeout", "queue", "env")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_QUEUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z|arn:aws[a-z-]*:batch:[a-z0-9-]+:\d{12}:job-queue/[\w-]+\Z")


class Refused(BatchtuiError):
    """The changes cannot be applied to this job (they would not fit, or it has nothing to multiply)."""


@dataclass(frozen=True, slots=True)
class Memory:
    """An absolute size in MiB, or a factor of what the job had."""

    mib: int | None = None
    factor: float | None = None

    def __str__(self) -> str:
        return f"x{self.factor:g}" if self.factor is not None else str(self.mib)


@dataclass(frozen=True, slots=True)
class Overrides:
    memory: Memory | None = None
    vcpus: float | None = None
    timeout_s: int | None = None
    queue: str | None = None
    env: tuple[tuple[str, str], ...] = ()

    @property
    def empty(self) -> bool:
        return self == Overrides()

    @property
    def resources(self) -> bool:
        """Whether the fit on an instance has to be checked again."""
        return self.memory is not None or self.vcpus is not None or self.queue is not None

    @classmethod
    def parse(cls, text: str) -> Overrides:
        """`memory=x1.5 vcpus=4 timeout=2h queue=BigQueue env=KEY=VALUE` (shell quoting for spaces); ValueError
        names the part that is wrong."""
        try:
            words = shlex.split(text)
        except ValueError as e:
            raise ValueError(f"cannot read the changes: {e}") from None
        found: dict[str, object] = {}
        env: list[tuple[str, str]] = []
        for word in words:
            key, sep, value = word.partition("=")
            key = key.strip().lower()
            if not sep or key not in KEYS:
                raise ValueError(f"not a change: {word!r} (use {', '.join(k + '=' for k in KEYS)})")
            if key == "env":
                env.append(parse_env(value))
                continue
            if key in found:
                raise ValueError(f"{key}= given twice")
            found[FIELDS.get(key, key)] = PARSERS[key](value)
        return cls(env=merge_env((), env), **found)  # type: ignore[arg-type]

    def text(self) -> str:
        """The line `parse` reads back (the plan window's pre-filled changes)."""
        parts = []
        if self.memory is not None:
            parts.append(f"memory={self.memory}")
        if self.vcpus is not None:
            parts.append(f"vcpus={self.vcpus:g}")
        if self.timeout_s is not None:
            parts.append(f"timeout={_duration(self.timeout_s)}")
        if self.queue is not None:
            parts.append(f"queue={self.queue}")
        parts.extend(shlex.quote(f"env={k}={v}") for k, v in self.env)
        return " ".join(parts)


# --- values, shared by the CLI's argument types and the plan window ----------------------------------------------


def parse_memory(text: str) -> Memory:
    """`8192` (MiB) or `x1.5` / `1.5x` (times what the job had)."""
    t = text.strip().lower().replace("×", "x")
    if t.startswith("x") or t.endswith("x"):
        number = t.strip("x")
        try:
            factor = float(number)
        except ValueError:
            raise ValueError(f"not a memory factor: {text!r} (e.g. x1.5)") from None
        if not 0 < factor <= MAX_FACTOR:
            raise ValueError(f"a memory factor must be above 0 and at most {MAX_FACTOR:g}: {text!r}")
        return Memory(factor=factor)
    if not t.isdigit():
        raise ValueError(f"not a memory size: {text!r} (MiB, e.g. 8192, or a factor, e.g. x1.5)")
    mib = int(t)
    if mib < MIN_MEMORY_MIB:
        raise ValueError(f"memory must be at least {MIN_MEMORY_MIB} MiB: {text!r}")
    return Memory(mib=mib)


def parse_vcpus(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"not a number of vCPUs: {text!r}") from None
    if not 0 < value < math.inf:
        raise ValueError(f"vCPUs must be above zero: {text!r}")
    return value


def parse_timeout(text: str) -> int:
    seconds = math.ceil(parse_duration(text))
    if seconds < MIN_TIMEOUT_S:
        raise ValueError(f"a timeout must be at least {MIN_TIMEOUT_S}s (AWS Batch's minimum): {text!r}")
    return seconds


def parse_queue(text: str) -> str:
    q = text.strip()
    if not _QUEUE.match(q):
        raise ValueError(f"not a job queue name or ARN: {text!r}")
    return q


def parse_env(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not _ENV_NAME.match(name):
        raise ValueError(f"not KEY=VALUE: {text!r}")
    if name.startswith(RESERVED_ENV):
        raise ValueError(f"AWS Batch sets {name} itself: it cannot be overridden")
    if name in (INDEX_ENV, INDICES_ENV):
        raise ValueError(f"batchtui sets {name} to the original indices a retry re-runs: it cannot be overridden")
    return name, value


FIELDS = {"timeout": "timeout_s"}  # the line's keys that are not the field's name
PARSERS = {"memory": parse_memory, "vcpus": parse_vcpus, "timeout": parse_timeout, "queue": parse_queue}


def merge_env(base: tuple[tuple[str, str], ...], more: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """By name, the later value winning, in first-seen order."""
    out = dict(base)
    for k, v in more:
        out[k] = v
    return tuple(out.items())


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# --- one job -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resolved:
    """What one job's retry gets instead of what it had (None: unchanged)."""

    memory_mib: int | None = None
    vcpus: float | None = None
    timeout_s: int | None = None
    queue: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    said: tuple[str, ...] = field(default=())  # "memory 4,096 → 6,144 MiB", … for the plan
    unchecked: str | None = None  # why the fit could not be checked (the queue's environments not readable)


def resolve(changes: Overrides, job: Job, world: World | None) -> Resolved:
    """The changes for this job, checked against the target queue's capacity (`world`; None: not read)."""
    had = capacity.needs(job)
    vcpus = changes.vcpus
    # a factor is sized for the job as it will run: with its new vCPUs, if those change too
    sized = Needs(vcpus if vcpus is not None else had.vcpus, had.memory_mib, had.gpus)
    memory = _memory(changes.memory, sized, world, job.job_name)
    need = Needs(vcpus if vcpus is not None else had.vcpus, memory if memory is not None else had.memory_mib,
                 had.gpus)
    unchecked = None
    if changes.resources:
        if world is None or world.queue is None:
            why = "; ".join(world.missing) if world and world.missing else "not read"
            unchecked = f"the fit on an instance could not be checked (the queue's environments: {why})"
        elif (problem := capacity.fit_problem(need, world)) is not None:
            raise Refused(f"{job.job_name}'s retry would never run: {problem}")
    said = []
    if memory is not None:
        said.append(f"memory {_mib(had.memory_mib)} → {memory:,} MiB")
    if vcpus is not None:
        said.append(f"vCPUs {had.vcpus:g} → {vcpus:g}" if had.vcpus is not None else f"vCPUs → {vcpus:g}")
    if changes.timeout_s is not None:
        before = job.timeout.attempt_duration_s if job.timeout else None
        said.append(f"timeout {_duration(before) if before else 'none'} → {_duration(changes.timeout_s)}")
    if changes.queue is not None:
        said.append(f"queue {job.queue or '?'} → {changes.queue}")
    said.extend(f"env {k}={v}" for k, v in changes.env)
    return Resolved(memory, vcpus, changes.timeout_s, changes.queue, changes.env, tuple(said), unchecked)


def _mib(v: int | None) -> str:
    return f"{v:,}" if v is not None else "?"


def _memory(memory: Memory | None, had: Needs, world: World | None, name: str) -> int | None:
    if memory is None:
        return None
    if memory.mib is not None:
        return memory.mib
    assert memory.factor is not None
    if had.memory_mib is None:
        raise Refused(f"{name}'s memory is not known (its container names none): give memory in MiB, not a factor")
    want = max(MIN_MEMORY_MIB, math.ceil(had.memory_mib * memory.factor / MEMORY_STEP_MIB) * MEMORY_STEP_MIB)
    return _what_an_instance_gives(want, had, world)


def _what_an_instance_gives(want: int, had: Needs, world: World | None) -> int:
    """`want` as the target queue's instances can give it: Fargate's next allowed size for the vCPUs; on EC2, when
    no instance holds `want` but one holds more than the job had, the most such an instance offers."""
    envs = [e for e in (world.environments if world else ()) if e.usable] if world else []
    vcpus = had.vcpus or 0
    if envs and all(e.fargate for e in envs):
        sizes = [m for m in it.FARGATE_COMBINATIONS.get(float(vcpus), ()) if m >= want]
        return min(sizes) if sizes else want
    types = [t for e in envs if not e.fargate and not e.unknown_types() for t in e.types
             if t.vcpus >= vcpus and t.gpus >= had.gpus]
    if not types or any(it.usable_memory_mib(t) >= want for t in types):
        return want
    most = max(it.usable_memory_mib(t) for t in types)
    return most if had.memory_mib is not None and most > had.memory_mib else want
