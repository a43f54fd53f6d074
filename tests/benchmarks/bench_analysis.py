"""Benchmark: analysis over the reference pipeline at full size (20,012 jobs: two 10,000-child arrays).

Run: python tests/benchmarks/bench_analysis.py
Prints the time of job_fields (cold: a snapshot never analysed; warm: cached), explain_index and explain_job, and
what one headless refresh costs to print (`--output text|table|json`: the analysis fields and the lines, cold).
"""

from __future__ import annotations

import io
import random
import sys
import timeit
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the factory's letters.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))

from analysis_factory import SEQ, ago, array, dep, n2n, plain, snapshot  # noqa: E402

from batchtui import analysis as an  # noqa: E402
from batchtui import explain as words  # noqa: E402
from batchtui import headless  # noqa: E402
from batchtui.model import IndexDetail, Status  # noqa: E402

N = 10_000


def busy_array(rng: random.Random, done: int, failed: int, running: int, runnable: int) -> tuple[bytes, list]:
    """Statuses and details like a poller holds mid-run: times for every finished and running child."""
    st = bytearray([Status.PENDING]) * N
    details = []
    idx = list(range(N))
    rng.shuffle(idx)
    cuts = [done, done + failed, done + failed + running, done + failed + running + runnable]
    for k, i in enumerate(idx):
        if k < cuts[0]:
            st[i] = Status.SUCCEEDED
            stop = rng.uniform(0.1, 60)
            details.append(IndexDetail(i, exit_code=0, started_at=ago(stop + 3), stopped_at=ago(stop)))
        elif k < cuts[1]:
            st[i] = Status.FAILED
            stop = rng.uniform(0.1, 60)
            details.append(IndexDetail(i, exit_code=137, reason="OutOfMemoryError: Container killed",
                                       started_at=ago(stop + 3), stopped_at=ago(stop)))
        elif k < cuts[2]:
            st[i] = Status.RUNNING
            details.append(IndexDetail(i, started_at=ago(rng.uniform(0, 3))))
        elif k < cuts[3]:
            st[i] = Status.RUNNABLE
    return bytes(st), details


def main() -> None:
    rng = random.Random(11)
    b_st, b_det = busy_array(rng, 6000, 100, 900, 3000)
    c_st, c_det = busy_array(rng, 3000, 50, 500, 1000)

    def make():
        return snapshot(
            plain("A", Status.SUCCEEDED, name="JobA", started=90, stopped=80),
            array("B", b_st, (dep("A"),), name="JobB", details=b_det, started=70),
            array("C", c_st, (n2n("B"),), name="JobC", details=c_det, started=65),
            array("D", "p" * 10, (dep("C"), SEQ), name="JobD"),
            plain("E", Status.PENDING, (dep("D"),), name="JobE"),
        )

    snaps = [make() for _ in range(3)]
    assert sum(j.array.size if j.array else 1 for j in snaps[0].jobs) == 20_012
    fields = an.job_fields(snaps[0])
    print(f"jobs: 20,012; doomed in C: {len(fields['C']['doomedIndices'])}; outlook: "
          f"{ {snaps[0].job(k).job_name: v['outlook'] for k, v in fields.items()} }")
    print(f"pipeline eta: {words.describe_eta(an.pipeline_eta(snaps[0]), snaps[0].polled_at)}")

    def cold():
        an._cache = None  # a new snapshot every refresh: measure the full analysis
        an.job_fields(snaps[0])

    n = 20
    t_cold = min(timeit.repeat(cold, number=n, repeat=3)) / n
    t_warm = min(timeit.repeat(lambda: an.job_fields(snaps[0]), number=n, repeat=3)) / n
    t_idx = min(timeit.repeat(lambda: words.explain_index(snaps[0], "C", 9_999), number=200, repeat=3)) / 200
    t_job = min(timeit.repeat(lambda: words.explain_job(snaps[0], "C"), number=50, repeat=3)) / 50
    print(f"job_fields cold:   {t_cold * 1000:7.2f} ms")
    print(f"job_fields cached: {t_warm * 1000:7.2f} ms")
    print(f"explain_index (cached analysis): {t_idx * 1e6:7.1f} µs")
    print(f"explain_job C (cached analysis): {t_job * 1000:7.2f} ms")
    extra = headless._extra_fields()  # what `batchtui --once` hands the printer
    for output in ("text", "table", "json"):
        printer = headless.Printer(output == "json", io.StringIO(), output=output)

        def printed(printer: headless.Printer = printer) -> None:
            an._cache = None
            printer.snapshot(snaps[0], extra(snaps[0]) if extra else None)

        t_out = min(timeit.repeat(printed, number=n, repeat=3)) / n
        print(f"headless --output {output + ' cold:':<11} {t_out * 1000:7.2f} ms")
    print(f"at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
