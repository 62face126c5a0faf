"""Connectors: a CRM's API in, pages of raw records out.

Each connector speaks to one CRM through its well-kept client (`hubspot-api-client`,
`simple-salesforce`), pages as the API documents, retries what is worth retrying and
turns what is not into a `SyncError` that names the object and what to do. It never
converts a record into facts (the importers do) nor stores anything (the application
does): `lifecycle sync` = connector pages -> importer rows -> ledger appends.

The clients are an optional extra (`pip install "lifecycle-ledger[sync]"`): nothing here
is imported by the core install.
"""
