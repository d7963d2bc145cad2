"""/favicon.ico, for what asks for it by that name (the pages link static/favicon.svg)."""
from flask import current_app, send_from_directory

from webapp.dashboard.blueprint import bp

ONE_DAY = 86400


@bp.get("/favicon.ico")
def favicon():
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=ONE_DAY)
