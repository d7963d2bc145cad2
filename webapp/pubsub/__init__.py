"""Publish/subscribe between requests, threads and workers: the broker (broker.py) and its channels (channels.py)."""
