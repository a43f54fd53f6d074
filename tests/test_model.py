from hypothesis import given
from hypothesis import strategies as st

from batchtui.model import ArrayState, Dependency, Job, Status, build_pipelines, split_child_id, topological_order


def job(job_id, name, deps=(), created=0, size=None):
    return Job(job_id, name, Status.PENDING, created_at=created, array_size=size,
               depends_on=tuple(Dependency(*d) for d in deps))


def test_reference_shape_orders_by_dependency_depth():
    jobs = [
        job("e", "JobE", [("d",)], 5), job("c", "JobC", [("b", "N_TO_N")], 3, 10),
        job("a", "JobA", [], 1), job("d", "JobD", [("c",), (None, "SEQUENTIAL")], 4, 10),
        job("b", "JobB", [("a",)], 2, 10),
    ]
    (p,) = build_pipelines(jobs)
    assert p.job_ids == ("a", "b", "c", "d", "e")
    assert [p.depth[j] for j in p.job_ids] == [0, 1, 2, 3, 4]
    assert {(e.upstream, e.downstream, e.type) for e in p.edges} >= {("b", "c", "N_TO_N")}


def test_separate_components_are_separate_pipelines_oldest_first():
    jobs = [job("x", "X", [], 10), job("y", "Y", [("x",)], 11), job("a", "A", [], 1)]
    ps = build_pipelines(jobs)
    assert [p.job_ids for p in ps] == [("a",), ("x", "y")]


def test_fan_in_takes_the_longest_path():
    jobs = [job("a", "A"), job("b", "B", [("a",)]), job("c", "C", [("a",), ("b",)])]
    (p,) = build_pipelines(jobs)
    assert p.depth["c"] == 2


def test_array_state_counts_every_status_and_is_a_copy():
    raw = bytearray([Status.FAILED, Status.SUCCEEDED, Status.SUCCEEDED, Status.RUNNING])
    state = ArrayState.of(raw)
    raw[0] = Status.SUCCEEDED
    assert state.counts() == {"SUBMITTED": 0, "PENDING": 0, "RUNNABLE": 0, "STARTING": 0,
                              "RUNNING": 1, "SUCCEEDED": 2, "FAILED": 1}
    assert state.indices(Status.FAILED) == [0]


def test_unknown_status_text_never_raises():
    assert Status.parse("HIBERNATING") is Status.UNKNOWN
    assert Status.parse(None) is Status.UNKNOWN
    assert Status.parse("RUNNABLE") is Status.RUNNABLE


def test_child_ids_split_on_the_last_colon():
    assert split_child_id("abc-123:17") == ("abc-123", 17)
    assert split_child_id("abc-123") == ("abc-123", None)
    arn = "arn:aws:batch:us-east-1:123456789012:job/abc"
    assert split_child_id(arn) == (arn, None)
    assert split_child_id(arn + ":4") == (arn, 4)


def test_a_child_id_needs_ascii_digits_after_its_colon():
    assert split_child_id("parent:7") == ("parent", 7)
    assert split_child_id("parent:²") == ("parent:²", None)  # isdigit() says yes, int() says no: not an index
    assert split_child_id(":7") == (":7", None)


def _ready_first_reference(ids: list[str], ups: dict[str, list[str]]) -> list[str]:
    """The planner's former O(n²) order: the earliest id whose upstreams are placed; a cycle enters at the earliest."""
    pending, done = list(ids), []
    while pending:
        ready = [j for j in pending if not any(u in ids and u not in done for u in ups[j])] or pending[:1]
        done.append(ready[0])
        pending.remove(ready[0])
    return done


@given(st.integers(1, 12).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n))))
def test_topological_order_is_upstream_first_ties_in_given_order_like_the_former_planner_order(graph):
    n, edges = graph
    ids = [f"j{i}" for i in range(n)]
    ups: dict[str, list[str]] = {j: [] for j in ids}
    for down, up in edges:
        ups[ids[down]].append(ids[up])
    got = topological_order(ids, ups.__getitem__)
    assert sorted(got, key=ids.index) == ids  # every id once, even through cycles and self-dependencies (bad data)
    if all(int(u[1:]) < int(d[1:]) for d in ids for u in ups[d]):  # no cycle
        assert got == _ready_first_reference(ids, ups)
        assert all(got.index(u) < got.index(d) for d in ids for u in ups[d])


def test_topological_order_ignores_upstreams_outside_the_ids_and_keeps_independent_jobs_in_order():
    ups = {"c": ["a", "elsewhere"], "a": [], "b": []}
    assert topological_order(["c", "b", "a"], ups.__getitem__) == ["b", "a", "c"]


def test_a_cycle_is_entered_where_a_walk_up_from_its_earliest_job_ends():
    ups = {"a": ["b"], "b": ["a"], "c": ["a"]}
    assert topological_order(["a", "b", "c"], ups.__getitem__) == ["b", "a", "c"]
