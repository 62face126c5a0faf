"""The ledger's use cases (record, import, publish, catch up, backfill, audit, verify,
diff): the only layer that writes."""
