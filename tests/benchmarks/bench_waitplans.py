"""Benchmark: waiting plans at the reference size (JobB and JobC of 10,000 indices, 24 of JobB's FAILED, JobC
running on with their partners FAILED and 6,000 indices still to go).

Run: python tests/benchmarks/bench_waitplans.py
Prints the time of plan_retry --downstream mid-run (with its two waiting steps) against the same retry once JobC
has ended (the baseline: no waiting step, JobD already FAILED), of one Condition.check over the 9,976 other
indices, of writing the plan file (and its size), and of one dashboard round on it while nothing is ready
(lock, read, check: what every refresh pays per pending plan) – on the snapshot as planned, and on one that also
lists the plan's JobB-retry and JobC-retry (the condition is judged on the effective state: the retries folded in).
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
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/letters.py, which actions_factory imports

from types import MappingProxyType  # noqa: E402

from actions_factory import array, n2n, overrides, reference, snapshot  # noqa: E402

from batchtui import lineage, waitplans  # noqa: E402
from batchtui.model import INDICES_ENV, RETRY_OF_TAG, Status  # noqa: E402
from batchtui.plan import Selection  # noqa: E402
from batchtui.retry_plan import plan_retry  # noqa: E402

N = 10_000


def states(rng: random.Random) -> tuple[str, str, str]:
    failed = set(rng.sample(range(N), 24))
    b = "".join("F" if i in failed else "S" for i in range(N))
    running = "".join("F" if i in failed else "S" if rng.random() < 0.4 else rng.choice("Rrp") for i in range(N))
    ended = "".join("F" if i in failed else "S" for i in range(N))
    return b, running, ended


def with_retries(snap, failed: list[int]):
    """The snapshot once the plan's immediate calls are listed: JobB-retry and JobC-retry over the failed indices."""
    env = overrides(env={INDICES_ENV: ",".join(map(str, failed))})
    k = len(failed)
    b = array("BR", "R" * k, name="JobB-retry", created=50, tags=MappingProxyType({RETRY_OF_TAG: "B"}),
              container_overrides=env)
    c = array("CR", "p" * k, (n2n("BR"),), name="JobC-retry", created=51,
              tags=MappingProxyType({RETRY_OF_TAG: "C"}), container_overrides=env)
    return snapshot(*snap.jobs, b, c)


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
        failed = [i for i, ch in enumerate(b) if ch == "F"]
        r = 20
        listed = [with_retries(mid, failed) for _ in range(r)]  # a new snapshot each round, as every refresh
        t_retries = timeit.timeit(lambda: asyncio.run(waitplans.advance(sender, "p", listed.pop())), number=r) / r
        folded = [with_retries(mid, failed) for _ in range(r)]
        t_fold = timeit.timeit(lambda: lineage.effective(folded.pop()), number=r) / r
        raw = [with_retries(mid, failed) for _ in range(r)]
        real, lineage.effective = lineage.effective, lambda snap: snap  # the baseline: judged as listed
        try:
            t_raw = timeit.timeit(lambda: asyncio.run(waitplans.advance(sender, "p", raw.pop())), number=r) / r
        finally:
            lineage.effective = real
    print(f"plan_retry --downstream mid-run (2 waiting steps): {t_mid * 1000:8.1f} ms")
    print(f"plan_retry --downstream after JobC ended (baseline): {t_after * 1000:6.1f} ms")
    print(f"Condition.check over JobC's other {cond.others:,} indices: {t_check * 1000:6.2f} ms")
    print(f"keep (atomic write, fsync): {t_keep * 1000:6.2f} ms; plan file {size:,} bytes")
    print(f"one dashboard round, nothing ready (lock, read, check): {t_round * 1000:6.2f} ms")
    print(f"the same with JobB-retry and JobC-retry listed (effective state): {t_retries * 1000:6.2f} ms; "
          f"judged as listed, no lineage (before): {t_raw * 1000:6.2f} ms; the fold alone: {t_fold * 1000:6.2f} ms")
    print(f"at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
