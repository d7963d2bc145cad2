"""Who is making a request: login, logout, sessions, and CSRF protection of what the session authorises."""
from flask import Blueprint

bp = Blueprint("auth", __name__)


def init_app(app):
    from webapp.auth import csrf

    app.register_blueprint(bp)
    csrf.init_app(app)


from webapp.auth import current_user, routes  # noqa: E402,F401  (routes register on bp)
