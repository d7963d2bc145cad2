"""Background work of a worker process (background.py: presence sweep, webhook delivery, history prune) and its graceful stop (shutdown.py)."""
