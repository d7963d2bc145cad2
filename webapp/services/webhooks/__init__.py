"""Webhooks: what owners configure (registry.py), sending what the outbox holds (delivery.py), and where they may point (targets.py)."""
