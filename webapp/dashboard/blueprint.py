"""The dashboard's blueprint. Pages, their fragments and the live streams (realtime/) share one budget per client address."""
from flask import Blueprint

from webapp.http.rate_limiting import limited

bp = limited("RATELIMIT_DEFAULT", scope="dashboard")(Blueprint("dashboard", __name__))
