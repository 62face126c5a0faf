"""The event store: eventsourcing's recorders, extended with the ledger's fact index.

`open_recorder(url)` is the one place where a `--db` URL becomes eventsourcing settings.
"""

from lifecycle.store.base import AppendTx, IndexRow, LedgerRecorder, StreamEvent
from lifecycle.store.settings import StoreURLError, open_recorder, redact, scrub

__all__ = ["AppendTx", "IndexRow", "LedgerRecorder", "StoreURLError", "StreamEvent",
           "open_recorder", "redact", "scrub"]
