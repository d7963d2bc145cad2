"""Ingest: admitting device requests (telemetry.py) and storing their readings by group commit (writer.py)."""
