"""The one error a user can cause: the message says what to do."""


class LedgerError(Exception):
    """Something the user asked for that the ledger cannot do; the message says why."""
