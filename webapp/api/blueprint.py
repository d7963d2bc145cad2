"""The owner API's blueprint: everything under /api, in one budget per client address (http/rate_limiting.py)."""
from flask import Blueprint

from webapp.http.rate_limiting import limited

bp = limited("RATELIMIT_DEFAULT", scope="api")(Blueprint("api", __name__, url_prefix="/api"))
