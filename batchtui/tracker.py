"""The per-index tracking of one array job: which child statuses a sync lists, and what the listings mean.

Pure: no I/O. The poller (poller.py) does the listings and feeds them in – `plan` says what to list, an
`Observations` collects what the listings returned, `resolve` turns them into the new per-index state, `commit`
keeps it. The reasoning that keeps a sync cheap and correct is in the poller's docstring and in `ArrayTracker`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeGuard

from batchtui.limits import CHILD_PAGE
from batchtui.model import AWS_STATUSES, ArrayState, IndexDetail, Status
from batchtui.shapes import child_index, child_status, detail_from_summary, has_detail

HISTORY = 8  # committed states an array remembers the counts of (to recognise a summary that is merely late)
NOT_PROVISIONAL = 255  # ArrayTracker.floor value of an index whose status was observed, not inferred
NON_TERMINAL = (Status.SUBMITTED, Status.PENDING, Status.RUNNABLE, Status.STARTING, Status.RUNNING)


# --- per-index state of one array ------------------------------------------------------------------------------


def possible_after(prior: int, retries: bool) -> frozenset[Status]:
    """Where an index that was `prior` can be now: later in the lifecycle, or (retries) anywhere from RUNNABLE on."""
    if prior >= Status.UNKNOWN:
        return frozenset(AWS_STATUSES)
    if prior in (Status.SUCCEEDED, Status.FAILED):  # only reached for a provisional (inferred) index
        return frozenset({Status(prior)})
    if retries and prior in (Status.STARTING, Status.RUNNING):
        prior = Status.RUNNABLE  # a failed attempt goes back to RUNNABLE, and on from there again
    return frozenset(s for s in AWS_STATUSES if s >= prior)


@dataclass
class SyncPlan:
    """Which child statuses one sync lists, in lifecycle order, and which it leaves out."""

    listed: list[Status]
    complement: Status | None  # the one status not listed whose members are "open and seen nowhere"
    skipped: list[Status] = field(default_factory=list)  # not listed on trust in a fresh statusSummary
    big: Status | None = None  # the skipped one that is not empty but costly (members stay where they were)

    @property
    def exact(self) -> bool:
        return not self.skipped

    def relisted(self, listed: list[Status], still: list[Status]) -> SyncPlan:
        """This plan once the skipped buckets not in `still` were listed after all."""
        return SyncPlan(sorted(listed), self.complement, still, self.big if self.big in still else None)


@dataclass
class Observations:
    """What the listings of one sync returned: a status byte per index (255 = unseen) and the summaries' details."""

    size: int
    status: bytearray = field(init=False)
    details: dict[int, Mapping] = field(default_factory=dict)
    seen_twice: int = 0
    out_of_range: int = 0

    def __post_init__(self) -> None:
        self.status = bytearray([NOT_PROVISIONAL]) * self.size

    def add(self, summary: Mapping, listed_as: Status) -> None:
        index = child_index(summary)
        if index is None or not 0 <= index < self.size:
            self.out_of_range += 1
            return
        status = child_status(summary)
        if status is Status.UNKNOWN:  # no status, or one we do not know: it is where it was listed
            status = listed_as
        old = self.status[index]
        if old != NOT_PROVISIONAL:
            # Seen twice: it moved between two listings. Listings go forward through the lifecycle, so the
            # later and more advanced status is the newer one (a final status always is).
            self.seen_twice += 1
            status = Status(max(old, status))
        self.status[index] = status
        if has_detail(summary):
            self.details[index] = summary


@dataclass
class SyncResult:
    statuses: bytearray
    floor: bytearray
    changed: int  # indices whose status differs from the previous state (known before)
    anomalies: int  # open indices seen nowhere that no unlisted status could hold
    counts_agree: bool | None  # None when there was no summary to compare with


class ArrayTracker:
    """Per-index state of one array job: a status byte per index plus sparse details, and the sync bookkeeping.

    `floor[i]` is NOT_PROVISIONAL when index i's status was observed in a listing (or follows for certain);
    otherwise i's status was inferred and floor[i] is the lowest status it may really be in, so later syncs keep
    looking for it. A status is final only when it is terminal and not provisional.
    """

    def __init__(self, size: int, retries: bool = False) -> None:
        self.size = size
        self.retries = retries
        self.statuses = bytearray([Status.UNKNOWN]) * size
        self.floor = bytearray([NOT_PROVISIONAL]) * size
        self.details: dict[int, IndexDetail] = {}
        self.synced_key: tuple | None = None
        self.synced_upstream: tuple | None = None  # what the upstream jobs looked like at the last sync
        self.synced_summary: tuple | None = None  # the summary (counts, time) the last sync saw
        self.dirty = True  # the last sync left a doubt: sync again even if the summary did not change
        self.syncs = 0
        self.version = 0  # bumped when statuses or details change (snapshots reuse the frozen copy otherwise)
        self._frozen: tuple[int, ArrayState] | None = None
        self.history: deque[tuple[int, ...]] = deque(maxlen=HISTORY)  # counts of the last committed states

    # -- reading ---------------------------------------------------------------------------------------------

    def state(self) -> ArrayState:
        if self._frozen is None or self._frozen[0] != self.version:
            self._frozen = (self.version, ArrayState.of(self.statuses, self.details))
        return self._frozen[1]

    def open_priors(self) -> set[int]:
        """The statuses open indices were last in (non-terminal ones, or the floor of inferred terminal ones)."""
        priors: set[int] = {s for s in (*NON_TERMINAL, Status.UNKNOWN) if self.statuses.count(s)}
        priors |= set(self.floor) - {NOT_PROVISIONAL}
        return priors

    def possible(self) -> set[Status]:
        out: set[Status] = set()
        for p in self.open_priors():
            out |= possible_after(p, self.retries)
        return out

    def provisional(self) -> int:
        """How many indices hold an inferred status not yet confirmed."""
        return self.size - self.floor.count(NOT_PROVISIONAL)

    # -- planning --------------------------------------------------------------------------------------------

    def expected(self, status: Status, summary: Mapping[str, int] | None) -> int:
        """How many children a listing of `status` returns: terminal listings return every finished child."""
        ours = self.statuses.count(status)
        theirs = int((summary or {}).get(status.name) or 0)
        return max(ours, theirs)

    def plan(self, summary: Mapping[str, int] | None, speculate: bool, page: int = CHILD_PAGE) -> SyncPlan:
        """What one sync lists (`page`: children a listing page holds, which sets what a bucket costs)."""
        possible = self.possible()
        if not possible:
            return SyncPlan([], None)

        def pages(s: Status) -> int:
            return max(1, math.ceil(self.expected(s, summary) / page))

        # The costliest status is never listed; ties go to the larger bucket, then to SUCCEEDED (final states
        # are the ones worth never reading again).
        ranked = sorted(possible, key=lambda s: (pages(s), self.expected(s, summary), s is Status.SUCCEEDED),
                        reverse=True)
        complement = ranked[0]
        rest = ranked[1:]
        skipped: list[Status] = []
        if speculate and summary_is_sane(summary, self.size) and Status.UNKNOWN not in self.open_priors():
            # Once every index has a known last status (never on a cold sync: a one-shot `--once` must not rest
            # on a summary that may lag), trust a freshly updated summary for buckets it says are empty, and for
            # the second costliest bucket: an index seen nowhere is taken to be where it was (or the least
            # advanced status it can have reached). The result must then match the summary's counts for every
            # status, or what was skipped is listed.
            big = None
            for s in rest:
                theirs = int((summary or {}).get(s.name) or 0)
                if self.expected(s, summary) == 0 or (s in (Status.SUCCEEDED, Status.FAILED)
                                                      and theirs == self.statuses.count(s)):
                    # Empty, or a final status with no newcomers (members only ever join it).
                    skipped.append(s)
                elif s is rest[0]:
                    skipped.append(s)
                    big = s
            return SyncPlan(sorted(s for s in rest if s not in skipped), complement, skipped, big)
        return SyncPlan(sorted(rest), complement)

    # -- merging ---------------------------------------------------------------------------------------------

    def resolve(self, obs: Observations, plan: SyncPlan, summary: Mapping[str, int] | None,
                stay: bool = False) -> SyncResult:
        """The new per-index state from one sync's listings (pure: nothing is committed).

        An open index seen nowhere gets the least advanced unlisted status it can have reached, so that wrong
        guesses always show in the counts; with `stay` (a summary that is only late), what it had, if possible.
        """
        unlisted = {s for s in (plan.complement, *plan.skipped) if s is not None}
        statuses = bytearray(self.statuses)
        floor = bytearray(self.floor)
        changed = anomalies = 0
        cand_cache: dict[int, Status | None] = {}
        seen, prior_status, prior_floor = obs.status, self.statuses, self.floor
        for i in range(self.size):
            prior = prior_status[i]
            pf = prior_floor[i]
            if seen[i] != NOT_PROVISIONAL:
                new, nf = seen[i], NOT_PROVISIONAL
            elif prior in (Status.SUCCEEDED, Status.FAILED) and pf == NOT_PROVISIONAL:
                continue  # final: never looked at again
            else:
                base = pf if pf != NOT_PROVISIONAL else prior
                key = base * 16 + prior
                if key not in cand_cache:
                    cand_cache[key] = self._assign(base, prior, unlisted, stay)
                assigned = cand_cache[key]
                if assigned is None:
                    # Seen nowhere it could be: an earlier guess was ahead of the truth (a child that moved while
                    # buckets were listed out of order slipped past them). Keep what we had, but from now on look
                    # for it in every status, so it is found however it got there.
                    anomalies += 1
                    floor[i] = Status.UNKNOWN
                    continue
                new = assigned
                if new in (Status.SUCCEEDED, Status.FAILED):
                    # Inferred, not seen: a child can slip past listings (a retry moving it backwards, a page
                    # boundary shifting while others move), so a final status is only taken as final when two
                    # syncs in a row inferred it. Until then it stays open, no lower than `base`.
                    nf = NOT_PROVISIONAL if (pf != NOT_PROVISIONAL and prior == new) else base
                else:
                    nf = NOT_PROVISIONAL
            if new != prior and prior != Status.UNKNOWN:
                changed += 1
            statuses[i] = new
            floor[i] = nf
        agree: bool | None = None
        if summary_is_sane(summary, self.size):
            agree = all(statuses.count(s) == int(summary.get(s.name) or 0) for s in AWS_STATUSES)
        return SyncResult(statuses, floor, changed, anomalies, agree)

    def _assign(self, base: int, prior: int, unlisted: set[Status], stay: bool) -> Status | None:
        """Where an open index seen in no listing is: the one unlisted status it can be in."""
        candidates = possible_after(base, self.retries) & unlisted
        if not candidates:
            return None
        if len(candidates) == 1:
            return next(iter(candidates))
        if stay and prior in candidates:
            return Status(prior)  # the summary is only late: keep what we had
        # The least advanced place it can be. Every guess is then at or behind the truth in lifecycle order (even
        # with retries: an index can only have gone back to RUNNABLE, the least of its candidates), so wrong guesses
        # cannot cancel out: the sum of status values, hence the counts, differ from a current summary's.
        return min(candidates)

    def commit(self, result: SyncResult, obs: Observations, key: tuple | None, plan: SyncPlan) -> None:
        if result.statuses != self.statuses or result.floor != self.floor:
            self.version += 1
        self.statuses = result.statuses
        self.floor = result.floor
        if self._merge_details(obs):
            self.version += 1
        self.synced_key = key
        self.syncs += 1
        self.history.append(tuple(self.statuses.count(s) for s in AWS_STATUSES))
        # Doubt → look again next refresh even if AWS's summary did not change: something moved (so may still
        # be moving), a listing raced, something was inferred on trust, or an index was seen nowhere.
        self.dirty = bool(result.changed or obs.seen_twice or result.anomalies or obs.out_of_range
                          or not plan.exact or self.provisional())

    def rechecks(self, plan: SyncPlan, summary: Mapping[str, int] | None) -> tuple[list[Status], Status | None]:
        """The summary does not back what `plan` inferred on trust: the skipped buckets to list, cheapest first (the
        check is sound, so once the counts agree the rest need not be read), and the one that stays skipped.

        If the summary is merely late (it matches a state we held before), only the costly bucket's members stay
        where they were – the next summary checks that – but the buckets it said were empty are listed: a first
        failure must not wait for AWS's summary. (Not with retries: children going back and forth can make a wrong
        state's counts look right.)
        """
        late = plan.big is not None and not self.retries and self.seen_before(summary)
        more = sorted((s for s in plan.skipped if not (late and s is plan.big)),
                      key=lambda s: (self.expected(s, summary), s))
        return more, plan.big if late else None

    def seen_before(self, summary: Mapping[str, int] | None) -> bool:
        """The summary's counts are those of a state we committed lately: AWS's summary is just behind us.

        A wrong inference persists in every later state until fixed, so the first summary taken after it was made
        matches none of our states, and the skipped listings are made after all.
        """
        return summary_is_sane(summary, self.size) and _counts_key(summary) in self.history

    def mark_all(self, status: Status, key: tuple | None) -> None:
        """A SUCCEEDED parent means every child succeeded: no listing needed."""
        if self.statuses.count(status) != self.size or self.provisional():
            self.statuses = bytearray([status]) * self.size
            self.floor = bytearray([NOT_PROVISIONAL]) * self.size
            self.version += 1
        self.synced_key = key
        self.dirty = False

    def _merge_details(self, obs: Observations) -> bool:
        changed = False
        for i, s in obs.details.items():
            d = detail_from_summary(i, s, self.details.get(i))
            if d != self.details.get(i):
                self.details[i] = d
                changed = True
        return changed


def _counts_key(summary: Mapping[str, int]) -> tuple[int, ...]:
    return tuple(int(summary.get(s.name) or 0) for s in AWS_STATUSES)


def summary_is_sane(summary: Mapping[str, int] | None, size: int) -> TypeGuard[Mapping[str, int]]:
    if not summary:
        return False
    try:
        return sum(int(v or 0) for v in summary.values()) == size
    except (TypeError, ValueError):
        return False
