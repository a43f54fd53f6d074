"""Benchmark: waiting plans at the reference size (JobB and JobC of 10,000 indices, 24 of JobB's FAILED, JobC
running on with their partners FAILED and 6,000 indices still to go).

Run: python tests/benchmarks/bench_waitplans.py
Prints the time of plan_retry --downstream mid-run (with its two waiting steps) against the same retry once JobC
has ended (the baseline: no waiting step, JobD already FAILED), of one Condition.check over the 9,976 other
indices, of writing the plan file (and its size), and of one dashboard round on it while nothing is ready
(lock, read, check: what every refresh pays per pending plan).
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import timeit
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "actions"))

from actions_factory import reference  # noqa: E402

from batchtui import waitplans  # noqa: E402
from batchtui.model import Status  # noqa: E402
from batchtui.plan import Selection, plan_retry  # noqa: E402

N = 10_000


def states(rng: random.Random) -> tuple[str, str, str]:
    failed = set(rng.sample(range(N), 24))
    b = "".join("F" if i in failed else "S" for i in range(N))
    running = "".join("F" if i in failed else "S" if rng.random() < 0.4 else rng.choice("Rrp") for i in range(N))
    ended = "".join("F" if i in failed else "S" for i in range(N))
    return b, running, ended


def main() -> None:
    b, running, ended = states(random.Random(13))
    mid = reference(b, running, "p" * 10, e=Status.PENDING)
    after = reference(b, ended, "F" * 10, e=Status.FAILED)
    plan = plan_retry(mid, Selection("B"), downstream=True)
    assert len(plan.waiting) == 2 and not plan_retry(after, Selection("B"), downstream=True).waiting
    n = 5
    t_mid = timeit.timeit(lambda: plan_retry(mid, Selection("B"), downstream=True), number=n) / n
    t_after = timeit.timeit(lambda: plan_retry(after, Selection("B"), downstream=True), number=n) / n
    cond = plan.waiting[0].conditions[0]
    t_check = timeit.timeit(lambda: cond.check(mid), number=20) / 20
    with tempfile.TemporaryDirectory() as d:
        directory = Path(d)
        t_keep = timeit.timeit(lambda: waitplans.keep(plan, {0: "b", 1: "c"}, "ProdQueue", "bench", plan_id="p",
                                                      directory=directory), number=n) / n
        size = (directory / "p.json").stat().st_size
        sender = waitplans.Sender(None, directory)  # type: ignore[arg-type] - nothing is ready: no call is made
        t_round = timeit.timeit(lambda: asyncio.run(waitplans.advance(sender, "p", mid)), number=n) / n
    print(f"plan_retry --downstream mid-run (2 waiting steps): {t_mid * 1000:8.1f} ms")
    print(f"plan_retry --downstream after JobC ended (baseline): {t_after * 1000:6.1f} ms")
    print(f"Condition.check over JobC's other {cond.others:,} indices: {t_check * 1000:6.2f} ms")
    print(f"keep (atomic write, fsync): {t_keep * 1000:6.2f} ms; plan file {size:,} bytes")
    print(f"one dashboard round, nothing ready (lock, read, check): {t_round * 1000:6.2f} ms")
    print(f"at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
