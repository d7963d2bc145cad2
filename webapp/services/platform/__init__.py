"""The server's own upkeep: whether it can serve (health.py), and which worker runs a periodic job (jobs.py)."""
