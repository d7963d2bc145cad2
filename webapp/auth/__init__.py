"""Who is making a request: login, logout (routes.py), the user behind a request (current_user.py), and CSRF protection of what the session authorises (csrf.py)."""
from webapp.auth import csrf, routes  # noqa: F401  (the routes register on bp)
from webapp.auth.blueprint import bp


def init_app(app):
    app.register_blueprint(bp)
    csrf.init_app(app)
