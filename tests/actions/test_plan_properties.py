"""Properties: a plan never touches an index it must not, and touches each one it must exactly once."""

from __future__ import annotations

from actions_factory import LETTERS, SEQ, array, dep, n2n, plain, snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

from batchtui.model import INDEX_ENV, INDICES_ENV, Status, split_child_id
from batchtui.plan import SUBMIT, TERMINATE, Ref, Selection, plan_cancel
from batchtui.retry_plan import plan_retry

letters = st.sampled_from(sorted(LETTERS))
statuses = st.sampled_from(list(Status))


@st.composite
def pipelines(draw):
    """A reference-shaped pipeline (A → B ⇉ C → D(seq) → E) with arbitrary per-index states."""
    n = draw(st.integers(2, 12))
    b = draw(st.text(letters, min_size=n, max_size=n))
    c = draw(st.text(letters, min_size=n, max_size=n))
    d = draw(st.text(letters, min_size=3, max_size=5))
    return snapshot(
        plain("A", draw(statuses), name="JobA", created=1),
        array("B", b, (dep("A"),), name="JobB", created=2, status=draw(st.none() | statuses)),
        array("C", c, (n2n("B"),), name="JobC", created=3, status=draw(st.none() | statuses)),
        array("D", d, (dep("C"), SEQ), name="JobD", created=4, status=draw(st.none() | statuses)),
        plain("E", draw(statuses), (dep("D"),), name="JobE", created=5),
    )


@st.composite
def selections(draw, snap):
    out = []
    for job in draw(st.lists(st.sampled_from(snap.jobs), min_size=1, max_size=4)):
        if job.is_array and draw(st.booleans()):
            out.append(Selection(job.job_id, frozenset(draw(st.sets(st.integers(0, job.array_size - 1),
                                                                    min_size=1)))))
        else:
            out.append(Selection(job.job_id))
    return out


@st.composite
def snap_and_selection(draw):
    snap = draw(pipelines())
    return snap, draw(selections(snap))


def _wanted(snap, sels) -> dict[str, set[int] | None]:
    want: dict[str, set[int] | None] = {}
    for s in sels:
        old = want.get(s.job_id, set())
        want[s.job_id] = None if s.indices is None or old is None else old | set(s.indices)
    return want


@settings(max_examples=300, deadline=None)
@given(snap_and_selection())
def test_cancel_touches_only_unfinished_work_and_every_selected_unfinished_index_once(case):
    snap, sels = case
    plan = plan_cancel(snap, sels, "because")
    seen: list[str] = [i for c in plan.calls for i in c.params["jobs"]]
    assert len(seen) == len(set(seen))  # nothing named twice
    for c in plan.calls:
        assert len(c.params["jobs"]) <= 50
        for job_id in c.params["jobs"]:
            parent, index = split_child_id(job_id)
            job = snap.job(parent)
            status = job.status if index is None else job.array.status(index)
            assert not status.terminal, f"{job_id} is {status.name}"
            if index is not None:  # a child: terminate exactly when it may hold compute
                assert (c.operation == TERMINATE) == (status.active or status is Status.UNKNOWN)
    for job_id, indices in _wanted(snap, sels).items():
        job = snap.job(job_id)
        if indices is None:
            assert (job_id in seen) == (not job.status.terminal)
        else:
            for i in indices:
                assert (f"{job_id}:{i}" in seen) == (not job.array.status(i).terminal)


def _original_indices(call) -> list[int] | None:
    envs = {e["name"]: e["value"] for e in (call.params.get("containerOverrides") or {}).get("environment", [])}
    if INDICES_ENV in envs:
        return [int(v) for v in envs[INDICES_ENV].split(",")]
    if INDEX_ENV in envs:
        return [int(envs[INDEX_ENV])]
    return None


def _doomed(snap, plan, job) -> bool:
    """A job not ended yet that waits for all of an upstream that will fail (one still running with FAILED indices,
    or doomed itself): with downstream, it is resubmitted before it has failed."""
    def will_fail(j) -> bool:
        running_with_failures = not j.status.terminal and j.array is not None and j.array.count(Status.FAILED) > 0
        return running_with_failures or doomed(j)

    def doomed(j) -> bool:
        return not j.status.terminal and any(
            d.type != "N_TO_N" and (u := snap.job(d.job_id)) is not None and will_fail(u) for d in j.depends_on)

    return plan.downstream and doomed(job)


@settings(max_examples=300, deadline=None)
@given(snap_and_selection(), st.booleans())
def test_retry_resubmits_only_failed_work_each_index_at_most_once(case, downstream):
    snap, sels = case
    plan = plan_retry(snap, sels, downstream=downstream)
    per_job: dict[str, list[int]] = {}
    for n, c in enumerate(plan.calls):
        assert c.operation == SUBMIT
        (target,) = c.covers
        job = snap.job(target.job_id)
        doomed = _doomed(snap, plan, job)
        if target.indices is None:
            assert not job.is_array and (job.status is Status.FAILED or doomed)
        else:
            for i in target.indices:
                status = job.array.status(i)
                assert status is Status.FAILED or (doomed and status is not Status.SUCCEEDED), \
                    f"{job.job_name}[{i}] is {status.name}"
            per_job.setdefault(job.job_id, []).extend(target.indices)
            size = (c.params.get("arrayProperties") or {}).get("size")
            whole = list(target.indices) == list(range(job.array_size))
            # the index variable names exactly the covered indices (these originals are not retries themselves)
            assert _original_indices(c) == (None if whole else list(target.indices))
            assert size == (len(target.indices) if len(target.indices) >= 2 else None)
            assert size is None or 2 <= size <= 10_000
        assert not any(e["name"].startswith("AWS_BATCH")
                       for e in (c.params.get("containerOverrides") or {}).get("environment", []))
        for d in c.params.get("dependsOn", []):  # placeholders only point back, never forward
            if isinstance(d.get("jobId"), Ref):
                assert d["jobId"].step < n
        assert len(c.params.get("dependsOn", [])) <= 20
    for job_id, indices in per_job.items():
        assert len(indices) == len(set(indices)), f"{job_id} resubmitted an index twice"
    want = _wanted(snap, sels)
    if not downstream:  # only the selection is touched
        assert {t.job_id for t in plan.targets} <= set(want)
    for t in plan.targets:  # a selected subset of indices is never widened
        if want.get(t.job_id) is not None:
            assert set(t.indices or ()) <= want[t.job_id]
