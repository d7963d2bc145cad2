"""The API's documentation: /openapi.json, Swagger UI at /docs and ReDoc at /redoc.

The UIs' JavaScript comes from the flask-openapi3-swagger and -redoc wheels,
so the docs work on a LAN without a CDN.
"""
import functools
from importlib.resources import files

from flask import Blueprint, current_app, jsonify, render_template, send_from_directory

from webapp.http.openapi import build_document
from webapp.http.rate_limiting import exempt

bp = exempt(Blueprint("apidocs", __name__))

ASSETS = {
    "swagger": files("flask_openapi3_swagger") / "templates" / "swagger",
    "redoc": files("flask_openapi3_redoc") / "templates" / "redoc",
}


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(_document(current_app._get_current_object()))


# Swagger UI and ReDoc style their markup inline and ReDoc runs a worker from a blob:
# these two pages alone relax the site's policy for that (their scripts still come from here).
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:{images}; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'"
)
# ReDoc's sidebar shows Redocly's logo from their CDN and has no option to leave it out: its page allows
# that one image (where the internet is out of reach it does not load, and ReDoc leaves it out).
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@bp.get("/docs")
def swagger_ui():
    return render_template("apidocs/swagger.html"), {"Content-Security-Policy": DOCS_CONTENT_SECURITY_POLICY.format(images="")}


@bp.get("/redoc")
def redoc():
    return render_template("apidocs/redoc.html"), {"Content-Security-Policy": DOCS_CONTENT_SECURITY_POLICY.format(images=f" {REDOCLY_LOGO}")}


@bp.get("/docs/assets/<ui>/<path:filename>")
def asset(ui, filename):
    if ui not in ASSETS:
        return jsonify(error="not_found", message="No such documentation asset."), 404
    return send_from_directory(str(ASSETS[ui]), filename, max_age=86400)


@functools.cache
def _document(app):
    return build_document(app)
