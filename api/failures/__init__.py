"""Why runs fail: build logs, curated patterns, scans, known breakages, classification (§10)."""
