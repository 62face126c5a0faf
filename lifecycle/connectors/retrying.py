"""Retries with backoff (tenacity): a 429 waits what its `Retry-After` says, a 5xx or a
dropped connection waits an exponential, jittered backoff; a stop asked for meanwhile
(SIGTERM) interrupts the wait."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import tenacity

from lifecycle.connectors.base import Stopped

T = TypeVar("T")


class Retryable(Exception):
    """A failure worth another try: `reason` for the message, `retry_after` in seconds
    when the server said how long to wait."""

    def __init__(self, reason: str, retry_after: float | None = None,
                 status: int | None = None):
        super().__init__(reason)
        self.reason, self.retry_after, self.status = reason, retry_after, status


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: `attempts` calls at most, the first backoff `base` seconds,
    doubling up to `cap` (a `Retry-After` is honoured up to `cap` too)."""

    attempts: int = 8
    base: float = 1.0
    cap: float = 120.0
    stop: threading.Event = field(default_factory=threading.Event, compare=False)
    #: Told (reason, seconds) before each wait: progress shows it.
    on_wait: Callable[[str, float], None] | None = field(default=None, compare=False)


def retry_after(value: str | None) -> float | None:
    """A `Retry-After` header's seconds (HTTP dates are not sent by these APIs)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def call(policy: RetryPolicy, fn: Callable[[], T]) -> T:
    """`fn()`, again after a wait while it raises `Retryable`; the last `Retryable` is
    raised when the attempts are spent."""
    backoff = tenacity.wait_random_exponential(multiplier=policy.base, max=policy.cap)

    def wait(state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, policy.cap)
        return float(backoff(state))

    def sleep(seconds: float) -> None:
        if policy.stop.wait(seconds):
            raise Stopped

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if policy.on_wait is None or state.next_action is None:
            return
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        policy.on_wait(str(exc), state.next_action.sleep)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(Retryable),
        stop=tenacity.stop_after_attempt(policy.attempts), wait=wait, sleep=sleep,
        before_sleep=before_sleep, reraise=True)
    return retrying(fn)
