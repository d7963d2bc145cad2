"""What open dashboards are sent live: HTML fragments that htmx swaps out of band (hx-swap-oob).

A `LiveView` renders for one WebSocket: a snapshot when it opens, then each
broker event of its devices. It keeps its devices' widgets (reloaded when a
`widgets` event says they changed), so that the frequent state events render
without the database.

One event reaches every open page of its devices, often hundreds: the
fragments for the same event and the same widgets (and, for notifications,
the same user) are rendered once per process and reused, which keeps a
fan-out to 1,000 pages within tens of milliseconds.
"""
import functools
import threading

import orjson
from flask import render_template

from webapp.auth import csrf
from webapp.core.errors import ApiError
from webapp.core.ids import in_range
from webapp.dashboard import view_models as dashboard
from webapp.dashboard.templating import as_ms
from webapp.extensions import db
from webapp.models import User
from webapp.services import notifications
from webapp.services.devices import health, widgets


class LiveView:
    def __init__(self, scope):
        self.scope = scope
        self.widgets = widgets.widgets_by_device(scope.device_ids)

    def snapshot(self):
        """Everything live on the page, current: sent first, so a reconnected page missed nothing."""
        if self.scope.rollouts_page:
            return render_template("live/rollouts_snapshot.html", rollouts=dashboard.visible_rollouts(db.session.get(User, self.scope.user_id)))
        cards = dashboard.live_cards(self.scope.device_ids)
        panels = {card.device.id: dashboard.alert_panel(card.device.id) for card in cards} if self.scope.device_page else {}
        listed = dashboard.device_commands(self.scope.device_ids[0]) if self.scope.device_page else None
        sent = dashboard.device_updates(self.scope.device_ids[0]) if self.scope.device_page else None
        return render_template("live/snapshot.html", cards=cards, device_page=self.scope.device_page, alert_panels=panels, commands=listed, updates=sent)

    def render(self, event):
        """The fragments for one broker event; '' when the page shows nothing of it."""
        if self.scope.rollouts_page:
            return self._rollout_fragment(event)
        device_id = event.get("device_id")
        if device_id not in self.widgets:
            return ""
        kind = event["type"]
        if kind == "state":
            return _state_fragment(_json(event), tuple(self.widgets[device_id]), self.scope.device_page)
        if kind == "status":
            return render_template("live/status.html", event=event)
        if kind == "transport":
            return render_template("live/transport.html", event=event)
        if kind == "health":
            report = health.HealthView(event["health"], as_ms(event["timestamp"]))
            return render_template("live/health.html", event=event, health=report, device_page=self.scope.device_page)
        if kind == "command":
            if not self.scope.device_page:
                return ""
            # A new command joins the list (read again: the page may have missed others); a later status replaces its row.
            listed = dashboard.device_commands(device_id) if event["command"]["status"] == "queued" else None
            return render_template("live/command.html", event=event, commands=listed)
        if kind == "ota":
            # Read afresh: the page shows the latest update and the history, which one event only changes in part.
            return render_template("live/ota.html", device_id=device_id, updates=dashboard.device_updates(device_id)) if self.scope.device_page else ""
        if kind == "widgets":
            cards = dashboard.live_cards((device_id,))
            if not cards:
                return ""
            self.widgets[device_id] = cards[0].widgets
            return render_template("live/widgets.html", card=cards[0], device_page=self.scope.device_page)
        if kind == "alert":
            return _alert_fragments(_json(event), self.scope.device_page)
        return ""

    def _rollout_fragment(self, event):
        """The rollouts page follows its rollouts: a device's step in one, or the rollout's own change, redraws its card."""
        kind = event.get("type")
        rollout_id = event["update"]["rollout_id"] if kind == "ota" else event.get("rollout_id") if kind == "rollout" else None
        if rollout_id is None:
            return ""
        return render_template("live/rollout.html", shown=dashboard.visible_rollout_view(self.scope.user_id, rollout_id))

    def handle_message(self, text):
        """A message from the page: a switch toggle. '' when done (the state event shows it), else an error toast."""
        try:
            message = orjson.loads(text)
            token = message.get("HEADERS", {}).get(csrf.HEADER)
            widget_id, on = int(message["widget_id"]), int(message["value"]) != 0
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError, OverflowError):
            return error_toast("That message is not a switch toggle.")
        if not in_range(widget_id):
            return error_toast("That switch does not exist.")
        if not csrf.token_matches(token):
            return error_toast("The CSRF token is missing or wrong: reload the page and try again.")
        user = db.session.get(User, self.scope.user_id)
        if user is None:
            return error_toast("Your account no longer exists.")
        try:
            widgets.set_switch(user, widget_id, on)
        except ApiError as error:
            return error_toast(error.message)
        return ""


def error_toast(message):
    return render_template("live/error_toast.html", message=message)


def unread_counter(user_id):
    return render_template("live/unread_counter.html", count=_unread(user_id))


def render_notification(user_id, notification):
    """(a toast with the unread counter, a row for the notifications page) for a notification event."""
    return _notification_fragments(user_id, _json(notification))


def render_muted(muted):
    """The "N more while muted" of a notification whose repeat the cooldown swallowed."""
    return _muted_fragment(_json(muted))


def render_grouped(grouped):
    """The grown count and names of a summary that more devices were folded into."""
    return _grouped_fragment(_json(grouped))


def _json(value):
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@functools.lru_cache(maxsize=256)
def _state_fragment(event_json, widgets, device_page):
    return render_template("live/state.html", event=orjson.loads(event_json), widgets=widgets, device_page=device_page)


@functools.lru_cache(maxsize=256)
def _render_notification_fragments(user_id, notification_json):
    notification = orjson.loads(notification_json)
    toast = render_template("live/notification.html", notification=notification, count=_unread(user_id))
    return toast, render_template("live/notification_item.html", notification=notification)


_notification_render_lock = threading.Lock()


def _notification_fragments(user_id, notification_json):
    # One render per event even when all the user's streams ask at once: the unread count is a
    # query, during which (on PostgreSQL, under gevent) every other stream would miss the cache
    # and query too — 1,000 queries for one notification.
    with _notification_render_lock:
        return _render_notification_fragments(user_id, notification_json)


@functools.lru_cache(maxsize=64)
def _render_alert_fragments(event_json, device_page):
    # Read afresh, whatever the event says: the device's raised alerts, and on its page its rules and history.
    device_id = orjson.loads(event_json)["device_id"]
    panel = dashboard.alert_panel(device_id) if device_page else None
    return render_template("live/alerts.html", device_id=device_id, active=dashboard.active_alerts(device_id), panel=panel)


_alert_render_lock = threading.Lock()


def _alert_fragments(event_json, device_page):
    # Once per event however many pages show the device (its queries would otherwise run for each, as above).
    with _alert_render_lock:
        return _render_alert_fragments(event_json, device_page)


@functools.lru_cache(maxsize=256)
def _muted_fragment(muted_json):
    return render_template("live/notification_muted.html", muted=orjson.loads(muted_json))


@functools.lru_cache(maxsize=256)
def _grouped_fragment(grouped_json):
    return render_template("live/notification_grouped.html", grouped=orjson.loads(grouped_json))


def _unread(user_id):
    user = db.session.get(User, user_id)
    return notifications.unread_count(user) if user is not None else 0
