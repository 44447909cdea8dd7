"""Pull ingestion from Prow buckets on GCS (``flakegate crawl``), like Kettle but incremental.

Modules: :mod:`.retry` (backoff and rate limit), :mod:`.gcs` (bucket reads), :mod:`.prow`
(bucket layout, build discovery and reading), :mod:`.mapping` (build -> run),
:mod:`.history` (Prow job-history pages), :mod:`.config` (crawl.yaml), :mod:`.sinks` (the
store or a server, and the ledger), :mod:`.runner` (the crawl itself) and :mod:`.commands`.
"""
