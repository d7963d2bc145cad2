"""History: reading a key's readings back, raw or in time buckets (query.py), as CSV (export.py), and pruning what is past retention (retention.py)."""
