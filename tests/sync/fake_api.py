"""What both test servers share: bearer-token checks, injected faults, request counts."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request, Response


@dataclass
class Fault:
    """Answer the next `times` requests of `kind` (after letting `after` through) with
    `status` and `body`; `delay` slows every request of `kind` instead."""

    kind: str
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    after: int = 0
    delay: float = 0.0


class FakeAPI:
    def __init__(self, token: str):
        self.token = token
        self.faults: list[Fault] = []
        self.calls: dict[str, int] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def fail(self, kind: str, status: int = 500, body: Any = None, times: int = 1,
             after: int = 0, headers: dict[str, str] | None = None) -> None:
        self.faults.append(Fault(kind, status, body, headers or {}, times, after))

    def slow(self, kind: str, seconds: float) -> None:
        self.faults.append(Fault(kind, times=0, delay=seconds))

    def unauthorized(self) -> Response:
        raise NotImplementedError

    def answer(self, kind: str, request: Request) -> Response | None:
        """Count the call; a bad token or an injected fault answers it, else None."""
        with self.lock:
            self.calls[kind] = self.calls.get(kind, 0) + 1
            self.requests.append((kind, request.full_path))
            delay = sum(f.delay for f in self.faults if f.kind == kind)
            fault = None
            for candidate in self.faults:
                if candidate.kind != kind or candidate.delay:
                    continue
                if candidate.after > 0:
                    candidate.after -= 1
                    continue
                if candidate.times > 0:
                    candidate.times -= 1
                    fault = candidate
                    break
        if delay:
            time.sleep(delay)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self.unauthorized()
        if fault is not None and isinstance(fault.body, bytes):  # a body cut short
            return Response(fault.body, status=fault.status, headers=fault.headers,
                            content_type="application/json;charset=UTF-8")
        if fault is not None:
            return json_response(fault.body, fault.status, fault.headers)
        return None


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {},
                    content_type="application/json;charset=UTF-8")
