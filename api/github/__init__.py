"""GitHub: the REST client flakegate reads workflow runs and publishes verdicts with
(docs/github.md). Nothing here imports Flask."""
