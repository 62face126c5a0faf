"""Read models derived from facts: their SQL tables, rebuild and catch-up.

Projections are thin: derivation (in `lifecycle`) decides what the rows are; this package
stores them, together with the log position they reflect, in one transaction.
"""
