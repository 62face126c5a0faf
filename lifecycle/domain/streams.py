"""The ledger's fixed identifiers (standard library only, so the fast report path can
use them without loading the rest)."""

from __future__ import annotations

import uuid

#: Namespace of every UUID the ledger derives (event ids, stream ids).
LEDGER_NAMESPACE = uuid.UUID("6f1b5a0e-3c2d-5b8e-9a41-2d7c0f9e8a11")

#: The stream that holds every published version of the definitions.
DEFINITIONS_STREAM = uuid.uuid5(LEDGER_NAMESPACE, "definitions")
