"""The notifications page: list, mark read."""
from flask import render_template, request, url_for

from webapp.auth.current_user import current_user, login_required
from webapp.dashboard.blueprint import bp
from webapp.dashboard.forms import answer, form_int
from webapp.schemas import NotificationOut
from webapp.services import notifications

PAGE_SIZE = 100


@bp.get("/notifications")
@login_required
def notifications_page():
    return render_template("dashboard/notifications.html", **_listing())


@bp.post("/notifications/read")
@login_required
def mark_read():
    """Mark one notification read (form field `id`), or all of them without it."""
    ids = [form_int("id")] if request.form.get("id") else None
    notifications.mark_read(current_user(), ids)
    return answer(lambda: render_template("dashboard/_notification_list.html", **_listing(), oob_counter=True), url_for("dashboard.notifications_page"))


def _listing():
    user = current_user()
    listed = [NotificationOut.of(notification) for notification in notifications.list_notifications(user, limit=PAGE_SIZE)]
    return {"notifications": listed, "unread": notifications.unread_count(user)}
