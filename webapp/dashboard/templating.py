"""What the dashboard's templates use beside their context: filters for values and times, globals."""
from webapp.auth.current_user import current_user
from webapp.core import values
from webapp.core.clock import iso_ms, now_ms, parse_timestamp_ms
from webapp.schemas import WIDGET_KINDS
from webapp.services import notifications
from webapp.services.devices import widgets

NOTIFICATION_KINDS = {
    "online": "Online",
    "offline": "Offline",
    "rule_denied": "Rule denied",
    "alert": "Alert",
    "alert_cleared": "Alert cleared",
    "login_failures": "Wrong passwords",
}
WIDGET_KIND_LABELS = dict(zip(WIDGET_KINDS, ("Switch", "Value", "Gauge", "LED", "Line chart"), strict=True))

# htmx settings (the htmx-config meta tag). No eval, no inline <style> or <script>:
# a later Content-Security-Policy allows neither. Errors arrive as toasts
# (dashboard/errors.py), so 4xx bodies go to #toasts whatever the request's target.
HTMX_CONFIG = {
    "includeIndicatorStyles": False,
    "allowEval": False,
    "allowScriptTags": False,
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "4..", "swap": True, "error": False, "target": "#toasts", "swapOverride": "beforeend"},
        {"code": "...", "swap": False, "error": True},
    ],
}


def display_value(value):
    """A state value as people read it: numbers without float noise, booleans as on/off, '—' for none."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def numeric(value, default=""):
    number = values.numeric(value)
    return default if number is None else f"{number:.6g}"


def as_ms(moment):
    """Milliseconds from stored ms or an API timestamp; None stays None."""
    if moment is None or isinstance(moment, int):
        return moment
    return parse_timestamp_ms(moment)


def iso(moment):
    return iso_ms(as_ms(moment))


def relative_time(moment, now=None):
    """'just now', '42 s ago', '5 min ago', '3 h ago', '2 d ago', or 'never' (static/dashboard/app.js says the same)."""
    ms = as_ms(moment)
    if ms is None:
        return "never"
    seconds = max(0, ((now or now_ms()) - ms) // 1000)
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def byte_size(count):
    """'181,234 bytes (177 KiB)'; a dash when the device did not say."""
    if count is None:
        return "—"
    return f"{count:,} bytes" + (f" ({count / 1024:.0f} KiB)" if count >= 1024 else "")


def duration(seconds):
    """'3 d 4 h', '5 h 12 min', '42 s'; a dash when the device did not say."""
    if seconds is None:
        return "—"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def unread_notifications():
    return notifications.unread_count(current_user())


def register(app):
    app.jinja_env.globals.update(
        current_user=current_user,
        unread_notifications=unread_notifications,
        htmx_config=HTMX_CONFIG,
        widget_kind_labels=WIDGET_KIND_LABELS,
    )
    app.jinja_env.filters.update(
        display_value=display_value,
        numeric=numeric,
        iso=iso,
        relative_time=relative_time,
        bytes=byte_size,
        duration=duration,
        is_on=widgets.is_on,
        kind_label=lambda kind: NOTIFICATION_KINDS.get(kind, kind.replace("_", " ").capitalize()),
    )
