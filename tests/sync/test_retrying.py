"""The retry policy on its own: Retry-After is honoured, backoff grows, attempts run out,
and a stop asked for interrupts a wait."""

from __future__ import annotations

import threading

import pytest

from lifecycle.connectors.base import Stopped
from lifecycle.connectors.retrying import Retryable, RetryPolicy, call, retry_after


def failing(times: int, after: float | None = None) -> tuple[list[int], object]:
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise Retryable("503: busy", after, 503)
        return "ok"

    return calls, fn


def test_retry_after_is_the_wait_and_backoff_is_capped() -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=5, base=0.001, cap=0.01,
                         on_wait=lambda reason, seconds: waits.append(seconds))
    calls, fn = failing(2, after=0.005)
    assert call(policy, fn) == "ok"  # type: ignore[arg-type]
    assert (len(calls), waits) == (3, [0.005, 0.005])
    waits.clear()
    calls, fn = failing(3, after=60)  # a Retry-After over the cap waits the cap
    assert call(policy, fn) == "ok"  # type: ignore[arg-type]
    assert waits == [0.01, 0.01, 0.01]
    waits.clear()
    calls, fn = failing(3)  # no Retry-After: random exponential backoff within the cap
    call(policy, fn)  # type: ignore[arg-type]
    assert len(waits) == 3 and all(0 <= w <= 0.01 for w in waits)


def test_attempts_run_out_with_the_last_failure() -> None:
    calls, fn = failing(10)
    with pytest.raises(Retryable, match="503: busy"):
        call(RetryPolicy(attempts=3, base=0.001, cap=0.001), fn)  # type: ignore[arg-type]
    assert len(calls) == 3


def test_a_stop_interrupts_the_wait() -> None:
    stop = threading.Event()
    stop.set()
    calls, fn = failing(1, after=3600)
    with pytest.raises(Stopped):
        call(RetryPolicy(stop=stop), fn)  # type: ignore[arg-type]
    assert len(calls) == 1


@pytest.mark.parametrize(("header", "seconds"), [
    (None, None), ("0", 0.0), (" 7 ", 7.0), ("1.5", 1.5), ("-1", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", None)])
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert retry_after(header) == seconds
