"""Third-party browser files (htmx and its extensions, uPlot, …), pinned in vendor_assets.json.

By default pages load them from the jsDelivr CDN with Subresource Integrity;
with SERVE_VENDOR_ASSETS=1 the app serves the same files itself from
static/vendor/ (fetched from the npm registry by `make setup`), for LANs
without internet and for the browser tests. Either way the browser checks
the pinned hash.
"""
import base64
import hashlib
import json
import os

from flask import current_app, url_for
from markupsafe import Markup, escape

PACKAGE_DIR = os.path.dirname(os.path.dirname(__file__))
MANIFEST_PATH = os.path.join(PACKAGE_DIR, "vendor_assets.json")
VENDOR_DIR = os.path.join(PACKAGE_DIR, "static", "vendor")
CDN = "https://cdn.jsdelivr.net/npm"


def manifest():
    with open(MANIFEST_PATH) as manifest_file:
        return json.load(manifest_file)


def local_filename(name, asset):
    return f"{name}-{asset['version']}{os.path.splitext(asset['path'])[1]}"


def cdn_url(asset):
    return f"{CDN}/{asset['package']}@{asset['version']}/{asset['path']}"


def subresource_integrity(content):
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()


def script_tag(name):
    """`<script>` for a pinned asset, from the CDN or from this server, with its integrity hash."""
    url, integrity = _located(name)
    return Markup(f'<script src="{escape(url)}" integrity="{escape(integrity)}" crossorigin="anonymous"></script>')


def stylesheet_tag(name):
    """`<link rel="stylesheet">` for a pinned CSS asset, like `script_tag`."""
    url, integrity = _located(name)
    return Markup(f'<link rel="stylesheet" href="{escape(url)}" integrity="{escape(integrity)}" crossorigin="anonymous">')


def _located(name):
    asset = current_app.extensions["vendor_assets"][name]
    if current_app.config["SERVE_VENDOR_ASSETS"]:
        return url_for("static", filename=f"vendor/{local_filename(name, asset)}"), asset["integrity"]
    return cdn_url(asset), asset["integrity"]


def init_app(app):
    app.extensions["vendor_assets"] = manifest()
    app.jinja_env.globals["vendor_script"] = script_tag
    app.jinja_env.globals["vendor_stylesheet"] = stylesheet_tag
