"""The blueprint of /login and /logout (routes.py)."""
from flask import Blueprint

bp = Blueprint("auth", __name__)
