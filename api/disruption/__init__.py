"""Disruption and alert measurements: per-run files, percentile baselines, judging (SPEC §9)."""
