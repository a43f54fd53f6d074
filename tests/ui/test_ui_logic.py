"""The dashboard's pure parts: filters, event diffs, graph layout, progress bars, grid geometry, partners."""

from __future__ import annotations

from dataclasses import replace

import pytest
import ui_factory as f

from batchtui.model import Dependency, IndexDetail, Status
from batchtui.ui import events, filters, graph
from batchtui.ui import format as fmt
from batchtui.ui.partners import downstream, upstream
from batchtui.ui.widgets.index_grid import CURSOR, DIM_BIT, DOOMED_BIT, _code, geometry
from batchtui.ui.widgets.status_bar import freshness

# --- filters -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ref():
    return f.reference(400)


def test_status_filter_matches_exactly_the_failed_indices(ref):
    b = ref.by_name("JobB").array
    mask = filters.parse("status:FAILED").mask(b)
    assert filters.matches(mask) == b.indices(Status.FAILED)


def test_bare_status_name_and_lists_of_statuses(ref):
    b = ref.by_name("JobB").array
    mask = filters.parse("status:failed,running").mask(b)
    assert filters.matches(mask) == b.indices(Status.FAILED, Status.RUNNING)
    assert filters.parse("failed").mask(b) == filters.parse("status:FAILED").mask(b)


def test_range_and_status_are_anded_same_kind_ored(ref):
    b = ref.by_name("JobB").array
    got = filters.matches(filters.parse("status:failed status:running 0-99").mask(b))
    assert got == [i for i in b.indices(Status.FAILED, Status.RUNNING) if i <= 99]
    got = filters.matches(filters.parse("10-19 30").mask(b))
    assert got == [*range(10, 20), 30]


def test_open_range_and_negation(ref):
    b = ref.by_name("JobB").array
    assert filters.matches(filters.parse("390-").mask(b)) == list(range(390, 400))
    not_ok = filters.matches(filters.parse("!status:SUCCEEDED").mask(b))
    assert not_ok == [i for i in range(400) if b.status(i) is not Status.SUCCEEDED]


def test_exit_code_and_reason_use_details(ref):
    b = ref.by_name("JobB").array
    oom = [i for i, d in b.details.items() if d.exit_code == 137]
    assert oom and filters.matches(filters.parse("exit:137").mask(b)) == sorted(oom)
    assert filters.matches(filters.parse("reason:memory").mask(b)) == sorted(oom)


@pytest.mark.parametrize("text", ["foo", "status:nope", "exit:x", "200-100", "-", "status:", "color:red"])
def test_bad_filters_say_what_is_wrong(text):
    with pytest.raises(filters.FilterError) as e:
        filters.parse(text)
    assert str(e.value)


def test_empty_filter_matches_everything(ref):
    b = ref.by_name("JobB").array
    assert filters.parse("  ").mask(b) == b"\x01" * b.size


# --- events --------------------------------------------------------------------------------------------------------


def test_first_snapshot_gets_one_summary_line(ref):
    ev = events.diff(None, ref)
    assert len(ev) == 1 and "watching ProdQueue" in ev[0].text and not ev[0].alert


def test_a_newly_failed_index_is_reported_with_exit_code_and_reason(ref):
    d = IndexDetail(301, exit_code=137, reason=f.OOM)
    later = f.with_index(ref, "JobB", 301, Status.FAILED, d)
    ev = events.diff(ref, later)
    assert [e.text for e in ev] == [f"JobB[301] failed (oom): exit 137 · {f.OOM}"]
    assert ev[0].alert and ev[0].index == 301


def test_many_failures_in_one_refresh_are_one_grouped_line(ref):
    snap = ref
    for i in range(350, 360):
        snap = f.with_index(snap, "JobB", i, Status.FAILED, IndexDetail(i, exit_code=137))
    ev = events.diff(ref, snap)
    assert len(ev) == 1
    assert "JobB: 10 more indices failed: 10 app (exit 137)" in ev[0].text and ev[0].alert


def test_failures_are_spoken_of_by_cause_and_dependency_failures_are_not_crashes(ref):
    snap = ref
    for i in range(350, 356):
        snap = f.with_index(snap, "JobB", i, Status.FAILED, IndexDetail(i, exit_code=137, reason=f.OOM))
    for i in range(356, 362):
        snap = f.with_index(snap, "JobB", i, Status.FAILED, IndexDetail(i, status_reason=f.DEP_FAILED))
    (ev,) = events.diff(ref, snap)
    assert "12 more indices failed: 6 oom (exit 137), 6 dependency" in ev.text  # ties: in index order
    only_deps = ref
    for i in range(356, 366):
        only_deps = f.with_index(only_deps, "JobB", i, Status.FAILED, IndexDetail(i, status_reason=f.DEP_FAILED))
    (dep,) = events.diff(ref, only_deps)
    assert "10 dependency" in dep.text and not dep.alert and dep.level == events.WARN


def test_job_success_failure_and_pipeline_end(ref):
    done = f.finished(ref, failed=False)
    texts = [e.text for e in events.diff(ref, done)]
    assert "JobB SUCCEEDED" in " ".join(texts)
    assert texts[-1].startswith("pipeline JobA → JobB → JobC → JobD → JobE finished: every job SUCCEEDED")
    bad = f.finished(ref, failed=True)
    ev = events.diff(ref, bad)
    assert any(e.text.startswith("JobE FAILED") and e.alert for e in ev)
    assert ev[-1].text.startswith("pipeline") and "with failures" in ev[-1].text and ev[-1].alert
    assert not [e for e in events.diff(done, done) if e.alert]  # nothing new, nothing said


def test_failed_refresh_and_recovery_are_events(ref):
    broken = replace(ref, error="cannot reach http://x", stale_since=ref.polled_at)
    ev = events.diff(ref, broken)
    assert len(ev) == 1 and "refresh failed: cannot reach" in ev[0].text
    back = events.diff(broken, ref)
    assert back[0].text.startswith("refresh works again")


# --- graph ---------------------------------------------------------------------------------------------------------


def _text(lay: graph.Layout) -> str:
    return "\n".join("".join(row) for row in lay.canvas.chars)


def _no_overlap(lay: graph.Layout) -> bool:
    nodes = list(lay.nodes.values())
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            if a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h:
                return False
    return True


def test_reference_pipeline_reads_left_to_right_with_distinct_edges(ref):
    lay = graph.layout(ref, 156, now=f.NOW)
    xs = [lay.nodes[f.job_id(n)].x for n in ("JobA", "JobB", "JobC", "JobD", "JobE")]
    assert xs == sorted(xs) and len(set(xs)) == 5
    assert len({lay.nodes[f.job_id(n)].y for n in ("JobA", "JobE")}) == 1
    text = _text(lay)
    assert "══════▶" in text and "N:N" in text  # JobB ⇒ JobC
    assert "──────▶" in text
    assert "↻ 10 seq" in text  # JobD is SEQUENTIAL
    assert lay.canvas.width <= 156


@pytest.mark.parametrize("make", [f.fan_in, f.plain_only, f.wide_chain, f.empty])
def test_any_shape_renders_without_overlaps(make):
    snap = make()
    lay = graph.layout(snap, 100, now=f.NOW)
    assert set(lay.nodes) == {j.job_id for j in snap.jobs}
    assert _no_overlap(lay)


def test_fan_in_arrives_at_one_arrowhead(ref):
    snap = f.fan_in()
    lay = graph.layout(snap, 156, now=f.NOW)
    merge = lay.nodes[f.job_id("Merge")]
    assert lay.canvas.get(merge.x - 1, merge.mid) == "▶"
    # both roots are in the first column, one above the other
    assert lay.nodes[f.job_id("Extract1")].x == lay.nodes[f.job_id("Extract2")].x


def test_independent_jobs_share_a_row_and_a_long_chain_is_wider_than_the_screen():
    lay = graph.layout(f.plain_only(4), 156, now=f.NOW)
    assert len({n.y for n in lay.nodes.values()}) == 1
    wide = graph.layout(f.wide_chain(12), 100, now=f.NOW)
    assert wide.canvas.width > 100  # the widget scrolls it


def test_an_edge_that_skips_a_column_is_routed_under_the_nodes():
    jobs = [f.plain("A", Status.SUCCEEDED), f.plain("B", Status.RUNNING, depends=[Dependency(f.job_id("A"))]),
            f.plain("C", Status.PENDING, depends=[Dependency(f.job_id("A")), Dependency(f.job_id("B"))])]
    lay = graph.layout(f.snapshot(jobs), 156, now=f.NOW)
    c = lay.nodes[f.job_id("C")]
    assert lay.canvas.height > graph.BOX_H  # a lane below the boxes
    assert lay.canvas.get(c.x - 1, c.mid) == "▶"


def test_node_shows_counts_and_selected_node_is_bold(ref):
    b = ref.by_name("JobB")
    lay = graph.layout(ref, 156, now=f.NOW, selected=b.job_id)
    text = _text(lay)
    done, total = fmt.done_fraction(b)
    assert f"{done:,} / {total:,}" in text
    n = lay.nodes[b.job_id]
    assert lay.canvas.get(n.x, n.y) == "┏"


# --- format --------------------------------------------------------------------------------------------------------


def test_bar_shows_even_a_handful_of_failures():
    counts = {Status.SUCCEEDED: 9_990, Status.FAILED: 3, Status.RUNNING: 7}
    cells = dict(fmt.allocate(counts, 20))
    assert sum(cells.values()) == 20
    assert cells[Status.FAILED] >= 1 and cells[Status.RUNNING] >= 1
    assert fmt.progress_bar(counts, 20).cell_len == 20


def test_durations_are_compact():
    assert [fmt.duration(s) for s in (5, 65, 3_700, 200_000)] == ["5s", "1m 05s", "1h 01m", "2d 07h"]


# --- grid geometry and coding --------------------------------------------------------------------------------------


def test_ten_thousand_indices_fit_a_160x50_array_screen():
    g = geometry(10_000, 124, 44)  # the grid's content area on a 160×50 terminal
    assert g.dense and g.line_count(10_000) <= 44


def test_small_arrays_get_numbered_tiles():
    g = geometry(10, 124, 44)
    assert not g.dense and g.cols >= 10


def test_cells_outside_the_filter_are_dimmed():
    statuses = bytes([Status.FAILED, Status.SUCCEEDED, 200])
    coded = _code(statuses, bytes([1, 0, 1]))
    assert coded == bytes([Status.FAILED, Status.SUCCEEDED | DIM_BIT, Status.UNKNOWN])
    assert CURSOR > DIM_BIT | 7


def test_doomed_cells_are_coded_apart_and_still_dim_outside_the_filter():
    statuses = bytes([Status.PENDING, Status.PENDING, Status.PENDING])
    coded = _code(statuses, bytes([1, 1, 0]), doomed=bytes([0, 1, 1]))
    assert coded == bytes([Status.PENDING, Status.PENDING | DOOMED_BIT, Status.PENDING | DOOMED_BIT | DIM_BIT])
    assert _code(statuses, None, doomed=b"\x01") == statuses  # a mask of another size (a stale one) is ignored


# --- partners and freshness ----------------------------------------------------------------------------------------


def test_partners_of_an_index(ref):
    c, d = ref.by_name("JobC"), ref.by_name("JobD")
    ups = upstream(ref, c, 7)
    assert [(p.name, p.relation) for p in ups] == [("JobB[7]", "N:N")]
    assert [(p.name, p.relation) for p in downstream(ref, c, 7)] == [("JobD", "whole job")]
    assert [(p.name, p.relation) for p in upstream(ref, d, 3)] == [("JobC", "whole job"), ("JobD[2]", "sequential")]
    assert [(p.name, p.relation) for p in downstream(ref, d, 3)] == [("JobD[4]", "sequential"), ("JobE", "whole job")]


def test_staleness():
    snap = f.reference(20)
    assert not freshness(snap, f.NOW, 5).stale
    assert freshness(snap, f.POLLED_AT + (f.NOW - f.POLLED_AT) * 100, 5).stale
    broken = replace(snap, error="boom", stale_since=f.POLLED_AT)
    fr = freshness(broken, f.NOW, 5)
    assert fr.stale and fr.error == "boom" and fr.age_s == 3


def test_an_empty_queue_says_why_the_graph_is_empty_and_what_to_do():
    lay = graph.layout(f.empty(), 156, now=f.NOW)
    text = "".join(seg.text for seg in lay.canvas.segments(0))
    assert "No jobs in ProdQueue" in text and "--since" in text and ":queue" in text
    assert not lay.nodes


def test_the_empty_queue_message_wraps_to_a_narrow_screen():
    lay = graph.layout(f.empty(), 60, now=f.NOW)
    assert lay.canvas.width <= 60 and lay.canvas.height >= 2


def test_expired_credentials_are_named_as_such_not_an_endless_stale():
    from batchtui.ui.widgets.status_bar import render

    snap = f.reference(20)
    message = "AWS credentials are expired or not valid (ExpiredToken): run `aws sso login --profile prod`"
    expired = replace(snap, error=message, error_kind="credentials", stale_since=f.POLLED_AT)
    text = render(expired, queue="ProdQueue", where="us-east-1", now=f.NOW, refresh_s=5, refreshing=False,
                  max_tps=None, readonly=False, width=200).plain
    assert "CREDENTIALS EXPIRED" in text and "STALE" not in text
    assert "⚠ credentials: AWS credentials are expired" in text and "aws sso login --profile prod" in text
    other = render(replace(expired, error="cannot reach http://x", error_kind="other"), queue="ProdQueue",
                   where="us-east-1", now=f.NOW, refresh_s=5, refreshing=False, max_tps=None, readonly=False,
                   width=200).plain
    assert "STALE" in other and "CREDENTIALS" not in other


def test_the_grid_filter_knows_failure_groups_and_quoted_text():
    from batchtui.model import ArrayState
    from batchtui.ui import filters as flt

    statuses = bytearray([Status.SUCCEEDED]) * 6
    details = {1: IndexDetail(1, 137, f.OOM), 2: IndexDetail(2, None, None, f.DEP_FAILED),
               3: IndexDetail(3, 1, None, "Essential container in task exited")}
    for i in details:
        statuses[i] = Status.FAILED
    array = ArrayState.of(statuses, details)
    assert flt.matches(flt.parse("group:oom").mask(array)) == [1]
    assert flt.matches(flt.parse("group:app,dependency").mask(array)) == [2, 3]
    assert flt.matches(flt.parse('reason:"Essential container"').mask(array)) == [3]
    assert flt.matches(flt.parse("!group:dependency status:FAILED").mask(array)) == [1, 3]
    doomed = bytes([0, 0, 0, 0, 1, 1])
    assert flt.matches(flt.parse("doomed").mask(array, doomed)) == [4, 5]
    assert flt.matches(flt.parse("!doomed !status:FAILED").mask(array, doomed)) == [0]
    assert flt.matches(flt.parse("doomed").mask(array)) == []  # no doom known: nothing is doomed
    retried = bytes([0, 1, 0, 1, 0, 0])
    assert flt.matches(flt.parse("retried").mask(array, doomed, retried)) == [1, 3]
    assert flt.matches(flt.parse("retried doomed").mask(array, doomed, retried)) == []  # different kinds: and
    assert flt.matches(flt.parse("!retried status:FAILED").mask(array, doomed, retried)) == [2]
    for bad, says in (("group:bogus", "unknown group 'bogus'"), ('reason:"open', "No closing quotation"),
                      ("doomd", "not understood")):
        with pytest.raises(flt.FilterError, match=says):
            flt.parse(bad)
