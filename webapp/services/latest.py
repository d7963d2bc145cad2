"""What a polling device gets: its current state, at once or when it changes (long-poll)."""
from webapp.realtime import events
from webapp.services import ingest, state


def latest_state(token, source_ip, seen_etags, wait):
    """The device's state; with `wait` > 0 and an ETag it already has, held until it changes."""
    view = ingest.record_poll(token, source_ip).view
    if wait > 0 and seen_etags.contains(view.etag):
        view = state.wait_for_change(view.device_id, view.etag, wait, events.broker())
    return view
