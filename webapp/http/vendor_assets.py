"""Third-party browser files (htmx and its extensions, uPlot, …), pinned in vendor_assets.json.

Served by this app from static/vendor/ by default (`make setup` fetches them
from the npm registry, checked against their pinned hashes), so the
dashboard works where the internet is not reachable: a LAN install, a
Raspberry Pi, a test machine. A CDN "with a local fallback" was the other
way: a script from a CDN that drops packets (rather than refusing them)
blocks the page until the connection times out, tens of seconds, before
any fallback can run, and a fallback loader would need inline script (the
Content-Security-Policy forbids it) or give up the order the extensions
need. With SERVE_VENDOR_ASSETS=0 pages load them from the jsDelivr CDN
instead; so does an asset whose local copy is missing (a warning says how
to fetch it). Either way the browser checks the pinned hash, and the
policy allows exactly the CDN URLs in use (`cdn_sources`).
"""
import base64
import hashlib
import json
import logging
import os

from flask import current_app, url_for
from markupsafe import Markup, escape

PACKAGE_DIR = os.path.dirname(os.path.dirname(__file__))
MANIFEST_PATH = os.path.join(PACKAGE_DIR, "vendor_assets.json")
VENDOR_DIR = os.path.join(PACKAGE_DIR, "static", "vendor")
CDN = "https://cdn.jsdelivr.net/npm"

log = logging.getLogger(__name__)


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
    """`<script>` for a pinned asset, from this server or the CDN, with its integrity hash."""
    url, integrity = _located(name)
    return Markup(f'<script src="{escape(url)}" integrity="{escape(integrity)}" crossorigin="anonymous"></script>')


def stylesheet_tag(name):
    """`<link rel="stylesheet">` for a pinned CSS asset, like `script_tag`."""
    url, integrity = _located(name)
    return Markup(f'<link rel="stylesheet" href="{escape(url)}" integrity="{escape(integrity)}" crossorigin="anonymous">')


def cdn_sources(app):
    """The CDN URLs pages load (the Content-Security-Policy allows these and no other): {"script": […], "style": […]}."""
    sources = {"script": [], "style": []}
    for name in sorted(app.extensions["vendor_assets_from_cdn"]):
        asset = app.extensions["vendor_assets"][name]
        sources["style" if asset["path"].endswith(".css") else "script"].append(cdn_url(asset))
    return sources


def _located(name):
    asset = current_app.extensions["vendor_assets"][name]
    if name in current_app.extensions["vendor_assets_from_cdn"]:
        return cdn_url(asset), asset["integrity"]
    return url_for("static", filename=f"vendor/{local_filename(name, asset)}"), asset["integrity"]


def _from_cdn(app, assets):
    if not app.config["SERVE_VENDOR_ASSETS"]:
        return frozenset(assets)
    missing = frozenset(name for name, asset in assets.items() if not os.path.exists(os.path.join(VENDOR_DIR, local_filename(name, asset))))
    if missing:
        log.warning(
            "browser assets %s are missing from %s: pages load them from %s (`make setup` or scripts/fetch_vendor_assets.py fetches them)",
            ", ".join(sorted(missing)), VENDOR_DIR, CDN,
        )
    return missing


def init_app(app):
    assets = app.extensions["vendor_assets"] = manifest()
    app.extensions["vendor_assets_from_cdn"] = _from_cdn(app, assets)
    app.jinja_env.globals["vendor_script"] = script_tag
    app.jinja_env.globals["vendor_stylesheet"] = stylesheet_tag
