"""What a polling device gets: its current state, at once or when it changes (long-poll)."""
from webapp.extensions import db
from webapp.realtime import events
from webapp.services import presence, state
from webapp.services.clock import now_ms
from webapp.services.ingest import admit_device


def latest_state(token, source_ip, seen_etags, wait):
    """The device's state; with `wait` > 0 and an ETag it already has, held until it changes."""
    device = admit_device(token, None, [], source_ip)
    view = state.read_state(device.id)
    now = now_ms()
    went_online = presence.mark_seen(view, now)
    db.session.commit()
    if went_online:
        presence.announce(device.id, "online", now)
    if wait > 0 and seen_etags.contains(view.etag):
        view = state.wait_for_change(device.id, view.version, wait, events.broker())
    return view
