"""Warehouse export: copy a store's history to BigQuery or to newline-delimited JSON files.

Incremental: each export remembers a watermark (the newest run change it has copied, and the
earliest ``--since`` it has covered) in its destination, and copies only runs changed since,
plus runs of a newly widened ``--since``. Rows are keyed by run (``job, run_id``), never by day
window, so re-running, overlapping windows or a changed ``--since`` never duplicate a row:
BigQuery replaces a re-exported run's rows, NDJSON batches carry each run version once.
"""
