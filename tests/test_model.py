from batchtui.model import ArrayState, Dependency, Job, Status, build_pipelines, split_child_id


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
