"""Who is making a request: a logged-in session or a personal API token."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from webapp.auth import current_user  # noqa: E402,F401
