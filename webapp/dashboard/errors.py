"""Errors on dashboard requests: a page for a browser, a toast for an htmx request."""
from flask import render_template, request
from werkzeug.exceptions import HTTPException

from webapp.core.errors import ApiError
from webapp.dashboard.blueprint import bp


@bp.errorhandler(ApiError)
def service_error(error):
    return error_response(error.status, error.message, error.headers)


@bp.errorhandler(HTTPException)
def http_error(exc):
    return error_response(exc.code, exc.description or exc.name, {})


def error_response(status, message, headers):
    # htmx swaps 4xx bodies into #toasts (see the htmx-config meta tag in base.html).
    template = "dashboard/_error_toast.html" if request.headers.get("HX-Request") else "dashboard/error.html"
    return render_template(template, status=status, message=message), status, headers
