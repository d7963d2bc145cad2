"""The domain: every rule lives here once, grouped by what it is about.

Blueprints, transports, the CLI and background workers call these; a service
never reads a request. The modules here at the top are what every group
builds on: who devices are (directory.py, cached per worker), the domain
events a change is told by (events.py), the webhook outbox they fill
(outbox.py) and owners' notifications (notifications.py). See
docs/ARCHITECTURE.md.
"""
