"""Pure planning of a retry: a selection over a Snapshot → a Plan (plan.py's types) that resubmits the FAILED work,
with its downstream and changed resources, and never twice what is already re-running.

    plan = plan_retry(snapshot, [Selection("jobB")], downstream=True)   # every FAILED index of jobB, and after

The rules are in plan.py's docstring (Retry, Downstream); the planner's decisions are typed (_After, _Partner,
_WaitFor, _Blocked), a Skip with its reason for what it leaves alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from batchtui.capacity import World
from batchtui.limits import MAX_DEPENDS_ON, MIN_ARRAY_SIZE
from batchtui.lineage import env_value, index_list
from batchtui.model import (
    INDEX_ENV,
    INDICES_ENV,
    RETRY_OF_TAG,
    DependencyType,
    Job,
    Snapshot,
    Status,
    split_child_id,
    topological_order,
)
from batchtui.overrides import Overrides, Refused, Resolved, resolve
from batchtui.plan import (
    KIND_RETRY,
    NAME_MAX,
    NONE,
    OVERRIDES_BUDGET,
    RESERVED_ENV_PREFIX,
    RESERVED_TAG_PREFIX,
    SUBMIT,
    Call,
    Condition,
    Plan,
    Ref,
    Selection,
    Skip,
    Target,
    Waiting,
    by_status,
    describe_indices,
    index_statuses,
    merge_selections,
    merge_targets,
)
from batchtui.triage import OOM, REPAIRS, TIMEOUT, classify, failures


@dataclass(frozen=True, slots=True)
class Provider:
    """A job (planned: ref is a Ref; submitted earlier: a job id) that re-runs `indices` of an original job."""

    ref: Ref | str
    name: str
    indices: tuple[int, ...] | None  # the original's own indices it re-runs, in child order; None: a plain original
    plain: bool  # the provider itself is a plain job

    def show(self) -> str:
        if isinstance(self.ref, Ref):
            return f"{'waiting step W' if self.ref.waiting else 'step '}{self.ref.step + 1} ({self.name})"
        return f"{self.name} ({self.ref})"


def plan_retry(snap: Snapshot, selection: Selection | Iterable[Selection], *, downstream: bool = False,
               changes: Overrides | None = None, worlds: Mapping[str, World] | None = None,
               pending: Mapping[str, str] | None = None) -> Plan:
    """Resubmit the FAILED work of the selection (and, with downstream, what failed after it) as new jobs; the
    picked jobs' retries with `changes`, checked against `worlds` (queue → its capacity, see `queues_to_check`).
    `pending`: original job id → the pending plan whose waiting step re-runs it (waitplans.pending_originals), so
    that a second retry never plans that step twice."""
    planner = _RetryPlanner(snap, downstream, changes or Overrides(), dict(worlds or {}), pending=dict(pending or {}))
    return planner.plan(merge_selections(snap, selection))


def queues_to_check(snap: Snapshot, selection: Selection | Iterable[Selection], changes: Overrides) -> list[str]:
    """The queues whose capacity decides whether the changed retries can run (none when no resources change)."""
    if not changes.resources:
        return []
    if changes.queue is not None:
        return [changes.queue]
    picked = [selection] if isinstance(selection, Selection) else list(selection)
    return list(dict.fromkeys(q for s in picked if (j := snap.job(s.job_id)) is not None and (q := j.queue)))


@dataclass
class _Group:
    indices: list[int]
    deps: tuple[_Dep, ...]  # what the new job waits for: indices with the same deps share one new job


# What a new job waits for (the planner's typed decisions; `_depends_on` turns them into SubmitJob's dependsOn).
@dataclass(frozen=True, slots=True)
class _After:
    """All of a job: a retry (planned or earlier), a planned retry's child (a Ref with its index), or an original
    job or child id still running."""

    on: Provider | Ref | str

    @property
    def ref(self) -> Ref | str:
        return self.on.ref if isinstance(self.on, Provider) else self.on


@dataclass(frozen=True, slots=True)
class _Partner:
    """A retry array's index partner (N_TO_N when the new job re-runs the same indices)."""

    on: Provider

    @property
    def ref(self) -> Ref | str:
        return self.on.ref


@dataclass(frozen=True, slots=True)
class _WaitFor:
    """What AWS cannot express, so batchtui waits for it itself: the step becomes a waiting step."""

    condition: Condition


@dataclass(frozen=True, slots=True)
class _Blocked:
    """The work cannot be resubmitted: why (shown as the Skip's reason)."""

    reason: str


_Dep = _After | _Partner | _WaitFor


@dataclass
class _RetryPlanner:
    snap: Snapshot
    downstream: bool
    changes: Overrides
    worlds: dict[str, World]
    calls: list[Call] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    providers: dict[str, list[Provider]] = field(default_factory=dict)  # original id → jobs re-running it
    existing: dict[str, list[Job]] = field(default_factory=dict)  # original id → earlier batchtui retries
    # Caches for 10,000-index arrays (an upstream's providers are final before its dependents are planned).
    _by_index: dict[str, dict[int, Provider]] = field(default_factory=dict)
    _std: dict[str, list[_Dep] | _Blocked] = field(default_factory=dict)
    picked: set[str] = field(default_factory=set)  # the jobs the person named: the changes apply to them
    redirected: set[str] = field(default_factory=set)  # earlier retries that failed, retried in their originals' stead
    resolved: dict[str, Resolved] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    # Still-running dependents (whole-job) of an upstream that will fail: resubmitted as waiting steps.
    doomed: set[str] = field(default_factory=set)
    waiting: list[Waiting] = field(default_factory=list)
    pending: dict[str, str] = field(default_factory=dict)  # original id → pending plan already waiting to re-run it

    def plan(self, selected: dict[str, frozenset[int] | None]) -> Plan:
        for job in self.snap.jobs:
            orig = job.tags.get(RETRY_OF_TAG) if job.tags else None
            if orig:
                self.existing.setdefault(orig, []).append(job)
        include = dict(selected)
        self._redirect(include)
        self.picked = set(include)  # a failed retry taken over stands for the original the person picked
        if self.downstream:
            self._walk_downstream(include)
        for job_id in self._topological(include):
            self._retry(self.snap.job(job_id), include[job_id])  # type: ignore[arg-type]
        if any(INDEX_ENV in c.label or INDICES_ENV in c.label for c in self.calls):
            self.notes.append(f"a retry of some indices tells its children which original index each re-runs in "
                              f"{INDICES_ENV} (child i re-runs the i-th; a plain job: {INDEX_ENV}); the job's "
                              "code must read it (see the README)")
        self._note_changes(include)
        order = {j.job_id: n for n, j in enumerate(self.snap.jobs)}
        skipped = sorted(self.skipped, key=lambda s: (order.get(s.job_id, len(order)), (s.indices or (-1,))[0]))
        changes = self.changes.text() or None
        if self.refused:  # all or nothing: a repair missing the job it was for would chain to the wrong thing
            return Plan(KIND_RETRY, (), (), tuple(skipped), tuple(dict.fromkeys(self.notes)),
                        downstream=self.downstream, changes=changes, refused=tuple(self.refused))
        return Plan(KIND_RETRY, tuple(self.calls), merge_targets(self.targets), tuple(skipped),
                    tuple(dict.fromkeys(self.notes)), downstream=self.downstream, changes=changes,
                    waiting=tuple(self.waiting))

    def _note_changes(self, include: Mapping[str, Any]) -> None:
        if self.changes.empty:
            return
        others = [self._name(j) for j in include if j not in self.picked]
        if others:
            picked = ", ".join(self._name(j) for j in self.picked)
            self.notes.append(f"the changes ({self.changes.text()}) apply to what you picked ({picked}); what is "
                              f"resubmitted downstream ({', '.join(others)}) keeps its own resources")
        self.notes.extend(r.unchecked for r in self.resolved.values() if r.unchecked)
        if self.changes.queue is not None:
            self.notes.append(f"the retries run in {self.changes.queue}: batchtui on this machine follows them by id "
                              f"(its audit log) and shows them in their originals; elsewhere, watch "
                              f"{self.changes.queue} (batchtui --queue {self.changes.queue})")

    def _change(self, job: Job) -> bool:
        """Resolve the changes for a picked job; False (and the reason kept) when they cannot be applied."""
        if job.job_id not in self.picked or self.changes.empty:
            return True
        try:
            world = self.worlds.get(self.changes.queue or job.queue or "")
            self.resolved[job.job_id] = resolve(self.changes, job, world)
        except Refused as e:
            self.refused.append(str(e))
            return False
        return True

    # -- which jobs -------------------------------------------------------------------------------------------

    def _walk_downstream(self, include: dict[str, frozenset[int] | None]) -> None:
        queue = list(include)
        seen = set(include)
        while queue:
            up = queue.pop(0)
            for dep in self.snap.downstream_of(up):
                if dep.job_id in seen:
                    continue
                seen.add(dep.job_id)
                if dep.status is Status.FAILED:
                    include[dep.job_id] = None
                    queue.append(dep.job_id)
                elif (failed := self._failed_partners(dep, up)) is not None:
                    # Still running, but its failed indices are final: repaired now, index by index, instead of
                    # hours later when the whole array has ended.
                    include[dep.job_id] = failed
                    queue.append(dep.job_id)
                    self.notes.append(f"{describe_indices(dep.job_name, sorted(failed))} failed while "
                                      f"{dep.job_name} runs on: resubmitted now, N_TO_N on the new "
                                      f"{self._name(up)}; {dep.job_name}'s other indices go on as they are")
                elif self._will_fail(dep, up, include):
                    # It fails once all of `up` has ended; AWS cannot wait for "up except the indices being
                    # retried", so its retry is planned as a waiting step that batchtui sends itself.
                    include[dep.job_id] = None
                    self.doomed.add(dep.job_id)
                    queue.append(dep.job_id)
                elif dep.status.terminal:
                    self._skip(dep, None, f"downstream of {self._name(up)} but {dep.status.name}: not resubmitted")
                else:
                    self._skip(dep, None, f"downstream of {self._name(up)} but still {dep.status.name}: only FAILED "
                                          "jobs are resubmitted (if it fails, retry it then; its retry will wait "
                                          "for these new jobs)")

    def _redirect(self, include: dict[str, frozenset[int] | None]) -> None:
        """An index whose earlier retry FAILED is retried through that retry (a retry of the retry: its tag names
        the retry, its index variable the original indices), again for a retry of that – so asking for the original
        twice never needs the person to find the retry."""
        todo = list(include)
        while todo:
            job = self.snap.job(todo.pop())
            if job is None:
                continue
            wanted = include[job.job_id]
            for r in self.existing.get(job.job_id, ()):
                children = self._failed_children(job, r, wanted)
                if children == NONE:
                    continue
                before = include.get(r.job_id, frozenset())
                include[r.job_id] = None if children is None or before is None else before | children
                self.redirected.add(r.job_id)
                todo.append(r.job_id)

    def _failed_children(self, job: Job, r: Job, wanted: frozenset[int] | None) -> frozenset[int] | None:
        """Which children of job's earlier retry r FAILED while re-running wanted indices of job: a set of r's own
        indices, None for the whole of r (a plain retry), NONE (empty) for none."""
        p = _existing_provider(job, r)
        if p is None:
            return NONE
        if not r.is_array:
            hit = wanted is None or p.indices is None or bool(set(p.indices) & wanted)
            return None if hit and r.status is Status.FAILED else NONE
        if r.array is None or p.indices is None or len(p.indices) != (r.array_size or 0):
            return NONE  # children not known, or lineage that does not line up child for child
        return frozenset(k for k, i in enumerate(p.indices)
                         if (wanted is None or i in wanted) and r.array.status(k) is Status.FAILED)

    def _will_fail(self, dep: Job, up: str, include: Mapping[str, Any]) -> bool:
        """dep waits for all of `up` (a standard dependency), and `up` – still running, or itself doomed – has work
        that FAILED and is retried in this plan: dep will fail when up ends."""
        upstream = self.snap.job(up)
        if dep.status.terminal or upstream is None or up not in include:
            return False
        whole = any(d.job_id == up and d.type != DependencyType.N_TO_N for d in dep.depends_on)
        return whole and (up in self.doomed or (not upstream.status.terminal and upstream.array is not None
                                                 and upstream.array.count(Status.FAILED) > 0))

    def _failed_partners(self, dep: Job, up: str) -> frozenset[int] | None:
        """The FAILED indices of a still-running array that depends on `up` index by index (N_TO_N); None if it is
        not one, or none of its indices failed."""
        n2n = any(d.job_id == up and d.type == DependencyType.N_TO_N for d in dep.depends_on)
        if not n2n or dep.array is None or dep.status.terminal:
            return None
        failed = dep.array.indices(Status.FAILED)
        return frozenset(failed) if failed else None

    def _topological(self, include: Mapping[str, Any]) -> list[str]:
        """Upstreams first; otherwise in the snapshot's order."""
        order = {j.job_id: n for n, j in enumerate(self.snap.jobs)}
        return topological_order(sorted(include, key=order.__getitem__), self._upstream_ids)

    def _upstream_ids(self, job_id: str) -> tuple[str, ...]:
        job = self.snap.job(job_id)
        return job.upstream_ids if job else ()

    def _name(self, job_id: str) -> str:
        job = self.snap.job(job_id)
        return job.job_name if job else job_id

    def _skip(self, job: Job, indices: Sequence[int] | None, reason: str) -> None:
        self.skipped.append(Skip(job.job_id, job.job_name, tuple(indices) if indices is not None else None, reason))

    # -- one job ----------------------------------------------------------------------------------------------

    def _retry(self, job: Job, requested: frozenset[int] | None) -> None:
        earlier = [p for r in self.existing.get(job.job_id, ()) if (p := _existing_provider(job, r))]
        self.providers[job.job_id] = list(earlier)
        if not job.queue or not job.job_definition:
            self._skip(job, None, "its queue or job definition is not known (not described yet): cannot resubmit")
            return
        # Whether it is still doomed or has FAILED since: its retry is that plan's to send (a blocked step too)
        if job.job_id in self.pending:
            self._skip(job, None, f"its retry waits already in plan {self.pending[job.job_id]} (batchtui plans): "
                                  "not planned again")
            return
        if not self._change(job):
            return
        if not job.is_array:
            self._retry_plain(job, earlier)
            return
        statuses = index_statuses(job, sorted(requested) if requested is not None else range(job.array_size or 0))
        failed = []
        for status, idx in by_status(statuses).items():
            if status is Status.FAILED or (job.job_id in self.doomed and status is not Status.SUCCEEDED):
                failed = idx
            elif status is Status.UNKNOWN:
                self._skip(job, idx, "state not known yet: not resubmitted")
            else:
                self._skip(job, idx, f"{status.name}: not resubmitted (only FAILED indices are)")
        covered: dict[int, Provider] = {}
        for p in earlier:
            for i in p.indices or ():
                covered.setdefault(i, p)
        for p in dict.fromkeys(covered[i] for i in failed if i in covered):
            idx = [i for i in failed if covered.get(i) == p]
            self._skip(job, idx, self._covered(p))
        remaining = [i for i in failed if i not in covered]
        if remaining:
            self._submit_groups(job, remaining)

    def _covered(self, p: Provider) -> str:
        if p.ref in self.redirected:
            return f"already resubmitted as {p.show()}, which failed: retried through it (its failed indices)"
        return f"already resubmitted as {p.show()}: not resubmitted again while that has not failed"

    def _retry_plain(self, job: Job, earlier: list[Provider]) -> None:
        if job.status is not Status.FAILED and job.job_id not in self.doomed:
            self._skip(job, None, f"is {job.status.name}: not resubmitted (only FAILED jobs are)")
            return
        if earlier:
            self._skip(job, None, self._covered(earlier[0]))
            return
        deps = self._deps(job, None)
        if isinstance(deps, _Blocked):
            self._skip(job, None, deps.reason)
            return
        self._submit_groups(job, [], plain_deps=deps)

    def _submit_groups(self, job: Job, failed: list[int], plain_deps: tuple[_Dep, ...] | None = None) -> None:
        if plain_deps is not None:
            groups = [_Group([], plain_deps)]
        else:
            groups = []
            by_key: dict[tuple[_Dep, ...], _Group] = {}
            for i in failed:
                deps = self._deps(job, i)
                if isinstance(deps, _Blocked):
                    self._skip(job, [i], deps.reason)
                    continue
                if deps not in by_key:
                    by_key[deps] = _Group([], deps)
                    groups.append(by_key[deps])
                by_key[deps].indices.append(i)
            # the group chained to the upstream retry comes first (and gets the plain "-retry" name)
            groups.sort(key=lambda g: not any(isinstance(d, _Partner) for d in g.deps))
            # skips were added one index at a time: regroup them by reason for the summary
            self._regroup_skips(job)
            groups = [part for g in groups for part in self._fit(job, g)]
        for n, group in enumerate(groups, 1):
            self._submit(job, group, n, len(groups))

    def _fit(self, job: Job, group: _Group) -> list[_Group]:
        """The group split so that each new job's containerOverrides (with its index list) stays in budget."""
        if len(group.indices) < 2 or group.indices == list(range(job.array_size or 0)):
            return [group]
        mapping = index_list(job)
        changed = self.resolved.get(job.job_id)
        base = _overrides_size(_overrides(job, group.indices[:2], False, changed)) - len(
            ",".join(str(mapping[i] if mapping else i) for i in group.indices[:2]))
        if base + len(str(max(mapping or group.indices))) + 1 > OVERRIDES_BUDGET:
            self._skip(job, group.indices, f"its container overrides are already {base:,} characters (its command "
                                           f"and environment): with the list of indices a retry re-runs they would "
                                           f"pass AWS Batch's 8,192, and the job would fail at start")
            return []
        parts: list[list[int]] = [[]]
        used = base
        for i in group.indices:
            cost = len(str(mapping[i] if mapping else i)) + 1
            if parts[-1] and used + cost > OVERRIDES_BUDGET:
                parts.append([])
                used = base
            parts[-1].append(i)
            used += cost
        if len(parts) > 1:
            self.notes.append(f"{describe_indices(job.job_name, group.indices)} are resubmitted as {len(parts)} "
                              f"arrays: one index list that long would make the job fail at start (AWS Batch allows "
                              f"8,192 characters of container overrides)")
        return [_Group(part, group.deps) for part in parts]

    def _regroup_skips(self, job: Job) -> None:
        mine = [s for s in self.skipped if s.job_id == job.job_id and s.indices is not None and len(s.indices) == 1]
        if len(mine) < 2:
            return
        others = [s for s in self.skipped if s not in mine]
        by_reason: dict[str, list[int]] = {}
        for s in mine:
            by_reason.setdefault(s.reason, []).extend(s.indices or ())
        whole = list(range(job.array_size or 0))
        self.skipped = others + [Skip(job.job_id, job.job_name, None if sorted(ix) == whole else tuple(sorted(ix)), r)
                                 for r, ix in by_reason.items()]

    # -- dependencies -----------------------------------------------------------------------------------------

    def _deps(self, job: Job, index: int | None) -> tuple[_Dep, ...] | _Blocked:
        """What the new job re-running `index` of job (None: a plain job) waits for, or why it cannot be sent."""
        key: list[_Dep] = []
        for d in job.depends_on:
            if not d.job_id:
                continue  # SEQUENTIAL: added when the new job is an array
            parent, child = split_child_id(d.job_id)
            up = self.snap.job(parent)
            if up is None:
                self.notes.append(f"{job.job_name} depends on {d.job_id}, which batchtui does not see: the "
                                  "dependency is kept as it was")
                key.append(_After(d.job_id))
                continue
            if child is not None:
                entry = self._child_dep(up, child, d.job_id)
            elif d.type == DependencyType.N_TO_N and index is not None and up.is_array:
                entry = self._n2n_dep(up, index)
            else:
                entries = self._std_dep(up)
                if isinstance(entries, _Blocked):
                    return entries
                key.extend(entries)
                continue
            if isinstance(entry, _Blocked):
                return entry
            if entry is not None:
                key.append(entry)
        return tuple(dict.fromkeys(key))

    def _provider_of(self, up: Job, index: int) -> Provider | None:
        if up.job_id not in self._by_index:
            cover: dict[int, Provider] = {}
            for p in self.providers.get(up.job_id, ()):
                for i in p.indices or ():
                    cover.setdefault(i, p)
            self._by_index[up.job_id] = cover
        return self._by_index[up.job_id].get(index)

    def _earlier(self, p: Provider, index: int | None = None) -> Status | None:
        """The status of an earlier retry (or of its child re-running `index`); None for one in this plan."""
        if isinstance(p.ref, Ref):
            return None
        job = self.snap.job(p.ref)
        if job is None:
            return None
        if index is not None and job.array is not None and p.indices is not None and index in p.indices:
            return job.array.status(p.indices.index(index))
        return job.status

    def _via(self, p: Provider, index: int | None = None, *, partner: bool = False) -> _Dep | None | _Blocked:
        """Wait for provider p (as an index partner, or for all of it) – unless it is an earlier retry that already
        SUCCEEDED (nothing to wait for) or FAILED (the new job would fail at once)."""
        status = self._earlier(p, index)
        if status is Status.SUCCEEDED:
            return None
        if status is Status.FAILED:
            return _Blocked(f"waits for {p.show()}, an earlier retry that FAILED: retry that job first "
                            "(with --downstream)")
        return _Partner(p) if partner else _After(p)

    def _n2n_dep(self, up: Job, index: int) -> _Dep | None | _Blocked:
        p = self._provider_of(up, index)
        if p is not None:
            return self._via(p, index, partner=True)
        status = index_statuses(up, [index])[index]
        if status is Status.SUCCEEDED:
            return None  # done: nothing to wait for
        # No index in these reasons: the skips of many indices share them and show as one line, not one per index.
        if status is Status.FAILED:
            return _Blocked(f"the N_TO_N partner in {up.job_name} FAILED and is not being retried (retry "
                            f"{up.job_name} with --downstream)")
        if up.job_id in self.doomed:
            return _Blocked(self._left_doomed(up))
        return _Blocked(f"the N_TO_N partner in {up.job_name} is {status.name}: cannot be resubmitted before it ends")

    def _left_doomed(self, up: Job) -> str:
        """Why work after `up` is left alone: up will fail, and this plan could not resubmit it (its own line says
        why); chaining a retry to it would only fail with it."""
        return f"waits for {up.job_name}, which will fail and is left alone in this plan (see {up.job_name})"

    def _std_dep(self, up: Job) -> list[_Dep] | _Blocked:
        if up.job_id not in self._std:
            self._std[up.job_id] = self._std_dep_uncached(up)
        return self._std[up.job_id]

    def _std_dep_uncached(self, up: Job) -> list[_Dep] | _Blocked:
        providers = self.providers.get(up.job_id) or []
        if providers:
            wait: list[_Dep] = []
            if up.is_array:
                statuses = index_statuses(up, range(up.array_size or 0))
                missing = [i for i, s in statuses.items() if s is not Status.SUCCEEDED
                           and self._provider_of(up, i) is None]
                if missing and all(statuses[i] is not Status.FAILED for i in missing):
                    # Still running: wait for them (batchtui does, AWS cannot), then for the retries.
                    retried = tuple(i for i in range(up.array_size or 0) if self._provider_of(up, i) is not None)
                    wait = [_WaitFor(Condition(up.job_id, up.job_name, up.array_size, retried))]
                elif missing:
                    return _Blocked(f"waits for all of {up.job_name}, but {describe_indices(up.job_name, missing)} "
                                    f"{'is' if len(missing) == 1 else 'are'} neither SUCCEEDED nor being retried")
            entries = [self._via(p) for p in providers]
            blocked = next((e for e in entries if isinstance(e, _Blocked)), None)
            return blocked if blocked is not None else wait + [e for e in entries if isinstance(e, _After)]
        if up.status is Status.SUCCEEDED:
            return []
        if up.status is Status.FAILED:
            return _Blocked(f"waits for {up.job_name}, which FAILED and is not being retried (retry it with "
                            "--downstream)")
        if up.job_id in self.doomed:
            return _Blocked(self._left_doomed(up))
        return [_After(up.job_id)]  # not finished yet: keep waiting for it

    def _child_dep(self, up: Job, child: int, raw: str) -> _Dep | None | _Blocked:
        p = self._provider_of(up, child)
        if p is not None and p.indices is not None:
            via = self._via(p, child)
            if not isinstance(via, _After):
                return via
            return _After(p.ref if p.plain else _child_of(p.ref, p.indices.index(child)))
        status = index_statuses(up, [child])[child]
        if status is Status.SUCCEEDED:
            return None
        if status is Status.FAILED:
            return _Blocked(f"waits for {up.job_name}[{child}], which FAILED and is not being retried")
        if up.job_id in self.doomed:
            return _Blocked(self._left_doomed(up))
        return _After(raw)

    # -- the SubmitJob ----------------------------------------------------------------------------------------

    def _submit(self, job: Job, group: _Group, n: int, total: int) -> None:
        step = len(self.calls)
        is_array = job.is_array and len(group.indices) >= MIN_ARRAY_SIZE
        whole = job.is_array and group.indices == list(range(job.array_size or 0))
        depends_on, dep_text = self._depends_on(job, group, is_array)
        if len(depends_on) > MAX_DEPENDS_ON:
            self._skip(job, group.indices or None, f"would need {len(depends_on)} dependencies (AWS allows "
                                                   f"{MAX_DEPENDS_ON}): not resubmitted")
            return
        name = _retry_name(job.job_name, n)
        changed = self.resolved.get(job.job_id)
        params: dict[str, Any] = {"jobName": name, "jobQueue": (changed and changed.queue) or job.queue,
                                  "jobDefinition": job.job_definition}
        if is_array:
            params["arrayProperties"] = {"size": len(group.indices)}
        if depends_on:
            params["dependsOn"] = depends_on
        if job.parameters:
            params["parameters"] = dict(job.parameters)
        overrides = _overrides(job, group.indices if job.is_array else None, whole, changed)
        if overrides:
            params["containerOverrides"] = overrides
        if job.retry_strategy:
            params["retryStrategy"] = job.retry_strategy.request()
        if changed and changed.timeout_s is not None:
            params["timeout"] = {"attemptDurationSeconds": changed.timeout_s}
        elif job.timeout:
            params["timeout"] = job.timeout.request()
        params["tags"] = {**{k: v for k, v in (job.tags or {}).items() if not k.startswith(RESERVED_TAG_PREFIX)},
                          RETRY_OF_TAG: job.job_id}
        covers = Target(job.job_id, job.job_name, tuple(group.indices) if job.is_array else None)
        conditions = tuple(d.condition for d in group.deps if isinstance(d, _WaitFor))
        # a job waiting for a waiting step is itself sent later, once that step has its job id
        after = tuple(dict.fromkeys(d.ref.step for d in group.deps if isinstance(d, _After | _Partner)
                                    and isinstance(d.ref, Ref) and d.ref.waiting))
        if whole:
            shape = f"whole {job.job_name} again (array of {job.array_size:,})"
        elif is_array:
            shape = f"array of {len(group.indices):,} re-running {covers.describe()} via {INDICES_ENV}"
        elif job.is_array:
            shape = f"plain job re-running {covers.describe()} via {INDEX_ENV}"
        else:
            shape = f"{job.job_name} again"
        own = "" if total == 1 else f" [part {n} of {total}]"
        if changed and changed.said:
            own += f" with {', '.join(changed.said)}"
        if self._own_failures(job, group):
            self.notes.append(f"{covers.describe()} failed on {'their' if len(group.indices) > 1 else 'its'} own "
                              f"(the N_TO_N upstream's indices SUCCEEDED): resubmitted too, without waiting, since "
                              f"what runs after {job.job_name} needs all of it")
        self.notes.extend(_repeats(job, group.indices, changed))
        call = Call(SUBMIT, params, f"{name}: {shape}{own}; {dep_text}", (covers,))
        indices = tuple(group.indices) if job.is_array else None
        if conditions or after:  # sent later, by batchtui, once they hold
            ref = Ref(len(self.waiting), waiting=True)
            self.waiting.append(Waiting(call, conditions, after))
        else:
            ref = Ref(step)
            self.calls.append(call)
            self.targets.append(covers)
        self.providers[job.job_id].append(Provider(ref, name, indices, plain=not is_array))

    def _own_failures(self, job: Job, group: _Group) -> bool:
        """An N_TO_N dependent's indices whose upstream indices SUCCEEDED the first time."""
        found = [self.snap.job(d.job_id) for d in job.depends_on if d.type == DependencyType.N_TO_N and d.job_id]
        ups = [u for u in found if u is not None and u.is_array]
        return bool(ups and group.indices) and all(
            s is Status.SUCCEEDED for u in ups for s in index_statuses(u, group.indices).values())

    def _depends_on(self, job: Job, group: _Group, is_array: bool) -> tuple[list[dict], str]:
        out: list[dict] = []
        said: list[str] = []
        for d in group.deps:
            if isinstance(d, _WaitFor):
                said.append(d.condition.describe())
                continue
            what, ref = d.on, d.ref
            shown = (what.show() if isinstance(what, Provider) else str(what) if isinstance(what, Ref)
                     else self._name(split_child_id(what)[0]))
            if isinstance(d, _Partner):
                if is_array and not d.on.plain and list(d.on.indices or ()) == group.indices:
                    out.append({"jobId": ref, "type": DependencyType.N_TO_N})
                    said.append(f"N_TO_N on {shown}")
                    continue
                if not is_array and d.on.plain:
                    said.append(f"after {shown}")
                else:
                    said.append(f"after all of {shown}")
                    self.notes.append(f"{job.job_name}'s retry waits for all of {shown}, not index by index: "
                                      "N_TO_N needs two arrays over the same indices")
            else:
                said.append(f"after {shown}")
            out.append({"jobId": ref})
        if is_array and job.sequential:
            out.append({"type": DependencyType.SEQUENTIAL})
            said.append("SEQUENTIAL")
        out = list({_dep_key(d): d for d in out}.values())
        dropped = [self._name(u) for u in job.upstream_ids
                   if (up := self.snap.job(split_child_id(u)[0])) is not None and up.status is Status.SUCCEEDED
                   and not self.providers.get(up.job_id)]
        text = ", ".join(said) if said else "no dependencies"
        if dropped:
            text += f" ({', '.join(dict.fromkeys(dropped))} SUCCEEDED: not waited for)"
        return out, text


# What a retry as it was would only repeat, and the change that repairs it (triage's repair for the cause).
_REPEATS = ((OOM, "ran out of memory", "the same memory", "memory=x1.5"),
            (TIMEOUT, "ran over the attempt timeout", "the same timeout", "timeout=2h"))


def _repeats(job: Job, indices: Sequence[int], changed: Resolved | None) -> list[str]:
    """Notes for resubmitted failures that will fail the same way again: out of memory with unchanged memory, over
    the timeout with an unchanged timeout (a downstream job keeps its resources: its own failure group repairs it)."""
    wanted = set(indices)
    causes = {f.index: classify(f) for f in failures(job) if f.index is None or f.index in wanted}
    kept = {OOM: changed is None or changed.memory_mib is None, TIMEOUT: changed is None or changed.timeout_s is None}
    out = []
    for cause, what, same, fix in _REPEATS:
        hit = [i for i, c in causes.items() if c == cause]
        if not kept[cause] or not hit:
            continue
        shown = None if job.array is None else sorted(i for i in hit if i is not None)
        who = describe_indices(job.job_name, shown)
        out.append(f"{who} {what} and {'are' if len(hit) > 1 else 'is'} resubmitted with {same}: expect the same "
                   f"failure – give {job.job_name}'s {cause} group its repair ({REPAIRS[cause]}: {fix} in the "
                   f"changes, or R on it in the Failures view)")
    return out


def _dep_key(d: Mapping) -> tuple:
    ref = d.get("jobId")
    return (str(ref) if ref is not None else None, d.get("type"))


def _child_of(ref: Ref | str, k: int) -> Ref | str:
    return Ref(ref.step, k, ref.waiting) if isinstance(ref, Ref) else f"{ref}:{k}"


def _retry_name(name: str, n: int) -> str:
    base = re.sub(r"-retry\d*$", "", name)
    suffix = "-retry" if n == 1 else f"-retry{n}"
    return base[:NAME_MAX - len(suffix)] + suffix


def _env(job: Job) -> list[dict]:
    return [e.request() for e in job.container_overrides.environment or ()] if job.container_overrides else []


def _overrides(job: Job, indices: list[int] | None, whole: bool, changed: Resolved | None = None) -> dict[str, Any]:
    """containerOverrides for the new job: the original's, minus AWS_BATCH_*, with the batchtui index variable and
    the changes asked for."""
    src = job.container_overrides.request() if job.container_overrides else {}
    out: dict[str, Any] = {k: v for k, v in src.items() if k != "environment" and v}
    if changed is not None:
        resources = _resources(out.get("resourceRequirements") or [], changed)
        if resources:
            out["resourceRequirements"] = resources
    env = [e for e in _env(job) if not str(e.get("name", "")).startswith(RESERVED_ENV_PREFIX)]
    if changed is not None and changed.env:
        names = {k for k, _ in changed.env}
        env = [e for e in env if e.get("name") not in names] + [{"name": k, "value": v} for k, v in changed.env]
    if indices is not None and not whole:
        mapping = index_list(job)
        original = [mapping[i] if mapping else i for i in indices]
        env = [e for e in env if e.get("name") not in (INDEX_ENV, INDICES_ENV)]
        if len(original) == 1:
            env.append({"name": INDEX_ENV, "value": str(original[0])})
        else:
            env.append({"name": INDICES_ENV, "value": ",".join(map(str, original))})
    if env:
        out["environment"] = env
    return out


def _resources(have: list[dict], changed: Resolved) -> list[dict]:
    """resourceRequirements with VCPU/MEMORY replaced (as AWS wants them: strings), other types kept."""
    new = {"VCPU": f"{changed.vcpus:g}" if changed.vcpus is not None else None,
           "MEMORY": str(changed.memory_mib) if changed.memory_mib is not None else None}
    out = [dict(r, value=new[str(r.get("type"))]) if new.get(str(r.get("type"))) else dict(r) for r in have]
    out += [{"type": t, "value": v} for t, v in new.items() if v and not any(r.get("type") == t for r in have)]
    return out


def _overrides_size(overrides: Mapping[str, Any]) -> int:
    return len(json.dumps(overrides, separators=(",", ":")))


def _existing_provider(orig: Job, retry: Job) -> Provider | None:
    """What an earlier batchtui retry of `orig` re-runs, in orig's own indices."""
    if not orig.is_array:
        return Provider(retry.job_id, retry.job_name, None, plain=not retry.is_array)
    own = index_list(orig)
    if retry.is_array:
        theirs = index_list(retry)
        if theirs is None:  # a whole resubmission
            indices = list(range(retry.array_size or 0))
        else:
            indices = [own.index(v) if own else v for v in theirs if own is None or v in own]
    else:
        text = env_value(retry, INDEX_ENV)
        if text is None or not text.isdigit():
            return None
        v = int(text)
        indices = [own.index(v)] if own and v in own else [] if own else [v]
    indices = [i for i in indices if 0 <= i < (orig.array_size or 0)]
    if not indices:
        return None
    return Provider(retry.job_id, retry.job_name, tuple(indices), plain=not retry.is_array)
