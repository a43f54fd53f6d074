"""The call budget: a token bucket every Batch API request waits on (`--max-tps`, default 10 requests/s).

The simulator throttles with the same bucket (`try_take`: no token, no waiting, a 429).

The account's Batch quota (50 TPS) is shared with the pipeline's own SubmitJob calls and every other tool, so a
monitor must spend a known, small part of it. The bucket also slows itself down when AWS answers "throttled"
(halving its rate, AIMD-style) and creeps back to the configured rate as calls succeed again, so batchtui yields to
whoever else is using the quota instead of competing with them.

Background work (reading failed attempts' logs for triage) spends the same budget at a lower priority: it takes a
token with `take_spare`, only when one is free and no status read is waiting for it, and gives up rather than queue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """An asyncio token bucket: `await acquire()` before each request; waiters are served first come, first served."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        min_rate: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be above zero: {rate!r}")
        self.max_rate = float(rate)
        self.rate = float(rate)
        # A small burst: a cold start may fire a few describes at once, but never a second's worth above the rate.
        self.burst = float(burst) if burst is not None else max(1.0, min(5.0, rate / 2))
        self.min_rate = float(min_rate) if min_rate is not None else min(0.5, self.max_rate)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._last = clock()
        self._lock = asyncio.Lock()
        self.waited_s = 0.0  # total time callers spent waiting: how much the budget slowed us

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    async def acquire(self) -> float:
        """Take one token, waiting for it if needed; returns the seconds waited."""
        async with self._lock:  # the lock queues waiters in order, so nobody starves
            self._refill()
            waited = 0.0
            while self._tokens < 1.0:
                delay = (1.0 - self._tokens) / self.rate
                await self._sleep(delay)
                waited += delay
                self._refill()
            self._tokens -= 1.0
            self.waited_s += waited
            return waited

    def try_take(self) -> bool:
        """Take a token if one is there now, never waiting (the simulator's throttle: no token, a 429)."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    async def take_spare(self, patience_s: float, *, take: bool = True) -> bool:
        """Take a token only when nobody else waits for one (lower priority than `acquire`): wait up to
        `patience_s` for one to come free; False when none did (the caller leaves its work for later). With
        `take=False` the token is left for the caller's own request to take through `acquire`."""
        give_up = self._clock() + patience_s
        while True:
            if not self._lock.locked():  # acquire() holds the lock while it waits: a status read comes first
                self._refill()
                if self._tokens >= 1.0:
                    self._tokens -= 1.0 if take else 0.0
                    return True
            left = give_up - self._clock()
            if left <= 0:
                return False
            await self._sleep(min(left, max((1.0 - self._tokens) / self.rate, 0.005)))

    def throttled(self) -> None:
        """AWS said "too many requests": halve our rate (others need the quota more than we do right now)."""
        self.rate = max(self.min_rate, self.rate / 2)
        self._tokens = min(self._tokens, 0.0)

    def succeeded(self) -> None:
        """A call went through: win back a little of the configured rate (additive increase)."""
        if self.rate < self.max_rate:
            self.rate = min(self.max_rate, self.rate + self.max_rate / 20)
