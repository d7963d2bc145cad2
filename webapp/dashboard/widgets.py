"""Adding, editing, removing and toggling widgets on a device's page.

A switch toggles over the WebSocket (realtime/ws.py); the POST here is the
fallback the page uses while the WebSocket is down. Editing and removing
take a plain form's POST too (forms.py), where htmx sends PUT and DELETE.
"""
from flask import render_template, request, url_for

from webapp.auth.current_user import current_user, login_required
from webapp.dashboard import view_models as dashboard
from webapp.dashboard.blueprint import bp
from webapp.dashboard.forms import answer, form_int, form_model, from_htmx
from webapp.schemas import WidgetIn
from webapp.services.devices import widgets

WIDGET_FIELDS = ("kind", "label", "key", "unit", "min", "max")


@bp.post("/devices/<device_id>/widgets")
@login_required
def add_widget(device_id):
    widgets.add_widget(current_user(), device_id, form_model(WidgetIn, WIDGET_FIELDS))
    return _widget_grid(device_id)


@bp.get("/devices/<device_id>/widgets/<int:widget_id>/edit")
@login_required
def edit_widget(device_id, widget_id):
    widget = widgets.find_widget(current_user(), device_id, widget_id)
    # Without htmx, the Edit link opens the form as a page of its own.
    template = "dashboard/_widget_form.html" if from_htmx() else "dashboard/widget_edit.html"
    return render_template(template, widget=widget, device_id=widget.device_id)


@bp.route("/devices/<device_id>/widgets/<int:widget_id>", methods=["PUT", "POST"])
@login_required
def update_widget(device_id, widget_id):
    widgets.update_widget(current_user(), device_id, widget_id, form_model(WidgetIn, WIDGET_FIELDS))
    return _widget_grid(device_id, close_editor=True)


@bp.post("/devices/<device_id>/widgets/<int:widget_id>/remove")
@bp.delete("/devices/<device_id>/widgets/<int:widget_id>")
@login_required
def remove_widget(device_id, widget_id):
    widgets.remove_widget(current_user(), device_id, widget_id)
    return _widget_grid(device_id)


@bp.post("/devices/<device_id>/widgets/<int:widget_id>/toggle")
@login_required
def toggle_switch(device_id, widget_id):
    widget, view = widgets.set_switch(current_user(), widget_id, on=form_int("value") != 0, device_id=device_id)
    # The switch says whether it sits on the device page, with the widget's edit buttons, or on the overview.
    editable = request.form.get("editable") == "1"
    return answer(
        lambda: render_template("dashboard/_widget.html", widget=widget, data=view.data, pending=view.pending(), editable=editable),
        url_for("dashboard.device_page", device_id=widget.device_id) if editable else url_for("dashboard.overview"),
    )


def _widget_grid(device_id, close_editor=False):
    return answer(
        lambda: render_template("dashboard/_widget_grid.html", card=dashboard.device_card(current_user(), device_id), editable=True, close_editor=close_editor),
        url_for("dashboard.device_page", device_id=device_id),
    )
