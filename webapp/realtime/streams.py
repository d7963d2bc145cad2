"""The blueprint of the live streams (/ws in ws.py, /events in sse.py): who may open one."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, request

from webapp.auth.current_user import current_login_id, current_user
from webapp.core.errors import Forbidden, Unauthorized
from webapp.dashboard import view_models as dashboard
from webapp.http.rate_limiting import limited

bp = limited("RATELIMIT_DEFAULT", scope="dashboard")(Blueprint("realtime", __name__))


def _from_this_site(origin):
    """Whether a handshake's Origin is this site's: its host and its scheme (an http:// page of an https site is not)."""
    if origin is None:
        return True
    # Behind a TLS proxy the request arrives as http; PREFERRED_URL_SCHEME says what browsers see.
    scheme = "https" if current_app.config["PREFERRED_URL_SCHEME"] == "https" else request.scheme
    parts = urlsplit(origin)
    return parts.scheme == scheme and parts.netloc == request.host


@bp.before_request
def admit_viewer():
    """Refuse before the WebSocket handshake: no session, another site's page, or a device not theirs."""
    user = current_user()
    if user is None:
        raise Unauthorized("Log in to follow live updates.")
    # Logging out ends the streams opened with that login (events.ends_stream_of).
    g.live_login = current_login_id()
    if request.endpoint == "realtime.dashboard_socket":
        # Browsers send cookies with cross-site WebSocket handshakes too; only this site's pages may connect.
        if not _from_this_site(request.headers.get("Origin")):
            raise Forbidden("WebSocket connections are accepted only from this site's pages.")
        g.live_scope = dashboard.live_scope(user, request.args.get("device"), request.args.get("view"))
        # Decline permessage-deflate (the handshake is rebuilt from these headers): its zlib state
        # cost about 230 KiB per open dashboard, and the small fragments gain little from it.
        request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
