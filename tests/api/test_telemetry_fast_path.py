"""The server's fast path answers telemetry POSTs and polls exactly as Flask's views do.

Two apps on the same database: one as tests usually make it (requests go
through Flask's views), one as wsgi.py makes it for the server (the two
routes are answered by webapp/device_api/fast_path.py). Each case sends the same request to
both, each on a device of its own, and compares what a device would see.
"""
import gzip

import flask_migrate
import pytest

from tests.conftest import settings_for_tests
from webapp import create_app
from webapp.extensions import db
from webapp.services.accounts import users
from webapp.services.devices import registry as devices

DEVICE_LIMIT = 8


@pytest.fixture(scope="module")
def apps(database_url):
    # A low device limit, so that 429 and its headers can be compared too.
    settings = settings_for_tests(database_url) | {"TESTING": True, "RATELIMIT_DEVICE": f"{DEVICE_LIMIT} per 60 seconds"}
    made = {"view": create_app(settings), "fast path": create_app(settings, telemetry_fast_path=True)}
    with made["view"].app_context():
        flask_migrate.upgrade()
    yield made
    for app in made.values():
        app.extensions["broker"].close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def both(apps, make_user):
    """For each app: its test client and a new device of a new user, made through that app."""

    def make():
        made = {}
        for name, app in apps.items():
            owner = make_user()
            with app.app_context():
                device, token = devices.create_device(users.find_user(owner.email), "Parity", None)
                made[name] = (app.test_client(), device.id, token, owner)
        return made

    return make


def post(client, device_id, token, data=None, *, body=None, **kwargs):
    return client.post(f"/devices/{device_id}/telemetry", json=body if body is not None else {"device_token": token, "data": data}, **kwargs)


def answers(both_paths, send):
    """{path: (status, JSON body, headers)} for `send(client, device_id, token, owner)` on each path."""
    replies = {}
    for name, (client, device_id, token, owner) in both_paths.items():
        response = send(client, device_id, token, owner)
        body = response.get_json()
        if isinstance(body, dict) and body.get("device_id") == device_id:
            body["device_id"] = "<the device>"
        replies[name] = (response.status_code, body, response.headers)
    return replies


def assert_alike(replies, status):
    (view_status, view_body, view_headers), (fast_status, fast_body, fast_headers) = replies["view"], replies["fast path"]
    assert view_status == fast_status == status
    assert fast_body == view_body
    assert fast_headers["Content-Type"] == view_headers["Content-Type"] == "application/json"
    for name in ("X-Request-ID", "Content-Security-Policy", "X-Content-Type-Options"):
        assert name in fast_headers and name in view_headers
    assert fast_headers.get("Retry-After") == view_headers.get("Retry-After")


def test_a_reading_is_stored_and_answered_with_the_state(both):
    replies = answers(both(), lambda client, device_id, token, _: post(client, device_id, token, {"v0": 1, "temperature": 21.5, "label": "hall"}))

    for _, body, _ in replies.values():
        assert body["timestamp"].endswith("Z") and len(body["timestamp"]) == 24
        body["timestamp"] = "…"
    assert_alike(replies, 200)
    assert replies["fast path"][1]["data"] == {"v0": 1, "temperature": 21.5, "label": "hall"}


def test_the_stored_reading_is_what_the_device_polls_next(both):
    for client, device_id, token, _ in both().values():
        assert post(client, device_id, token, {"v0": 1, "humidity": 40}).status_code == 200
        latest = client.get("/telemetry/latest", query_string={"device_token": token})
        assert latest.json["data"] == {"v0": 1, "humidity": 40}


def test_the_token_may_come_in_the_authorization_header(both):
    replies = answers(
        both(),
        lambda client, device_id, token, _: post(client, device_id, token, body={"data": {"v0": 0}}, headers={"Authorization": f"Bearer {token}"}),
    )

    assert replies["view"][0] == replies["fast path"][0] == 200
    assert replies["view"][1]["data"] == replies["fast path"][1]["data"] == {"v0": 0}


def test_a_gzipped_body_is_accepted(both):
    def send(client, device_id, token, _):
        body = gzip.compress(b'{"device_token": "%s", "data": {"v0": 1}}' % token.encode())
        return client.post(f"/devices/{device_id}/telemetry", data=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})

    replies = answers(both(), send)

    assert replies["view"][0] == replies["fast path"][0] == 200
    assert replies["fast path"][1]["data"] == {"v0": 1}


@pytest.mark.parametrize(
    "raw",
    [b"", b"{not json", b'{"device_token": "x", "data": [1, 2]}', b'{"data": {"v0": 1}}', b"[]"],
    ids=["empty", "malformed", "data-not-an-object", "no-token", "not-an-object"],
)
def test_a_bad_body_is_refused_alike(both, raw):
    replies = answers(both(), lambda client, device_id, *_: client.post(f"/devices/{device_id}/telemetry", data=raw, content_type="application/json"))

    status = replies["view"][0]
    assert status in (400, 403)
    assert_alike(replies, status)


def test_a_body_over_the_limit_is_413_alike(both, apps):
    too_large = b'{"data": {"k": "' + b"x" * apps["view"].config["MAX_BODY_BYTES"] + b'"}}'
    replies = answers(both(), lambda client, device_id, *_: client.post(f"/devices/{device_id}/telemetry", data=too_large, content_type="application/json"))

    assert_alike(replies, 413)


def test_a_wrong_token_unknown_device_and_anothers_device_are_refused_alike(both):
    paths = both()
    others = both()

    assert_alike(answers(paths, lambda client, device_id, *_: post(client, device_id, "not-the-token", {"v0": 1})), 403)
    assert_alike(answers(paths, lambda client, device_id, token, _: post(client, "0" * 24, token, {"v0": 1})), 404)
    wrong_device = answers(paths, lambda client, device_id, token, _: post(client, others["view"][1], token, {"v0": 1}))
    assert wrong_device["view"][0] == wrong_device["fast path"][0]
    assert wrong_device["view"][1]["error"] == wrong_device["fast path"][1]["error"]


def test_a_rule_denial_names_the_rule_alike(both):
    def send(client, device_id, token, owner):
        rules = {"rules": [{"name": "known-keys", "type": "allowed_keys", "keys": ["v0"]}]}
        assert client.put(f"/api/devices/{device_id}/rules", json=rules, headers=owner.headers).status_code == 200
        return post(client, device_id, token, {"pressure": 1013})

    replies = answers(both(), send)

    assert_alike(replies, 403)
    assert replies["fast path"][1]["rule"] == "known-keys"


def test_past_the_device_limit_it_is_429_with_retry_after_alike(both):
    def send(client, device_id, token, _):
        for _ in range(DEVICE_LIMIT):
            assert post(client, device_id, token, {"v0": 1}).status_code == 200
        return post(client, device_id, token, {"v0": 1})

    replies = answers(both(), send)

    assert_alike(replies, 429)
    assert replies["fast path"][2]["Retry-After"].isdigit()


def poll(client, token, etag=None, **query):
    return client.get("/telemetry/latest", query_string={"device_token": token, **query}, headers={"If-None-Match": etag} if etag else {})


def test_a_poll_answers_the_state_with_its_etag_alike(both):
    def send(client, device_id, token, _):
        assert post(client, device_id, token, {"v0": 1, "temperature": 20.5}).status_code == 200
        return poll(client, token)

    replies = answers(both(), send)

    for _, body, _ in replies.values():
        assert body["timestamp"].endswith("Z")
        body["timestamp"] = "…"
    assert_alike(replies, 200)
    assert replies["fast path"][1]["data"] == {"v0": 1, "temperature": 20.5}
    assert replies["fast path"][2]["Cache-Control"] == replies["view"][2]["Cache-Control"] == "no-cache"
    assert replies["fast path"][2]["ETag"] == replies["view"][2]["ETag"]


def test_a_poll_with_the_current_etag_is_304_alike_and_a_changed_state_is_not(both):
    for client, device_id, token, _ in both().values():
        post(client, device_id, token, {"v0": 0})
        etag = poll(client, token).headers["ETag"]

        unchanged = poll(client, token, etag)
        post(client, device_id, token, {"v0": 1})
        changed = poll(client, token, etag)

        assert unchanged.status_code == 304 and unchanged.get_data() == b"" and unchanged.headers["ETag"] == etag
        assert changed.status_code == 200 and changed.json["data"] == {"v0": 1} and changed.headers["ETag"] != etag


def test_a_long_poll_with_nothing_new_ends_in_304(both):
    for client, _, token, _ in both().values():
        etag = poll(client, token).headers["ETag"]
        assert poll(client, token, etag, wait=1).status_code == 304


@pytest.mark.parametrize("query", [{"wait": "soon"}, {"wait": "31"}, {"device_token": "not-a-token"}, {"device_token": ""}], ids=str)
def test_a_bad_poll_is_refused_alike(both, query):
    replies = answers(both(), lambda client, device_id, token, _: poll(client, token, **query))

    status = replies["view"][0]
    assert status in (400, 403)
    assert_alike(replies, status)


def test_other_requests_on_the_fast_path_app_still_reach_flask(both):
    client, device_id, token, owner = both()["fast path"]

    assert client.get(f"/devices/{device_id}/telemetry").status_code == 405
    assert client.head("/telemetry/latest", query_string={"device_token": token}).status_code == 200
    assert client.post("/telemetry/latest").status_code == 405
    assert client.post(f"/devices/{device_id}/telemetry/batch", json={"device_token": token, "records": []}).status_code in (200, 400)
    assert client.get(f"/api/devices/{device_id}", headers=owner.headers).status_code == 200


# Every request hook the server's app has, and why the fast path, which runs none, loses nothing by it.
HOOKS_THE_FAST_PATH_SKIPS = {
    "webapp.auth.csrf.check_request": "device routes need no CSRF token (http/device_routes.py)",
    "flask_limiter._extension.Limiter._check_request_limit": "the device_api blueprint is exempt; devices count per device in services",
    "flask_limiter._extension.Limiter.__inject_headers": "adds no headers (headers_enabled is off)",
    "flask_limiter._extension.Limiter.__release_context": "clears what _check_request_limit kept",
    "webapp.http.observe.init_app.<locals>.start_timer": "the fast path times the request itself",
    "webapp.http.observe.init_app.<locals>.observe_response": "the fast path calls http/observe.py's observe itself",
    "webapp.http.path_ids._refuse_ids_out_of_range": "the fast routes take no <int:…> id; their command ids go through core/ids.py parse_id",
}


def test_the_fast_path_loses_no_request_hook(database_url):
    """A new app-wide hook fails this until it is added above with its reason (or run by the fast path)."""
    app = create_app(settings_for_tests(database_url) | {"METRICS_TOKEN": "on", "ACCESS_LOG": True}, telemetry_fast_path=True)
    registries = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs, app.url_value_preprocessors)
    hooks = {_qualified_name(hook) for registry in registries for scope in (None, "device_api") for hook in registry.get(scope, ())}
    app.extensions["broker"].close()

    assert hooks == HOOKS_THE_FAST_PATH_SKIPS.keys()


def _qualified_name(hook):
    function = getattr(hook, "func", hook)
    return f"{function.__module__}.{function.__qualname__}"

