"""Properties of ingest validation and of the desired/reported state model, over generated inputs.

Each example makes a device of its own and goes through the in-process app
(the same routes, services and group-commit writer a real server runs).
The expected outcome is computed here from the contract (docs/ESP32_TELEMETRY_API_GUIDE.md),
not from the app's own validation code.
"""
import json
import math
import re

from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import select

from webapp.core import values
from webapp.extensions import db
from webapp.models import Reading

KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
MAX_KEYS = 64
MAX_STRING = 256
MAX_BODY_BYTES = 16 * 1024
INT_RANGE = (-(2**63), 2**63 - 1)

# Anything JSON can hold, nested a little: what a confused or hostile client may send.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
valid_keys = st.from_regex(KEY, fullmatch=True)
valid_values = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=256)
    | st.sampled_from([0, 1, 1.0, True, "1", -0.0, 2**63 - 1, -(2**63), 1e308, 5e-324, "", "0" * 256])
)
invalid_keys = st.sampled_from(["", "1abc", "a b", "ä", "a" * 65, "v0\n", "$x", "a/b"]) | st.text(max_size=70)
invalid_values = (
    st.sampled_from([None, 2**63, -(2**63) - 1, 2**64, "x" * 257, [], {}, [1], {"a": 1}])
    | st.integers(min_value=INT_RANGE[1] + 1)
    | st.integers(max_value=INT_RANGE[0] - 1)
    | st.text(min_size=257, max_size=300)
    | json_values
)
tokens = st.sampled_from(["<real>", None])
valid_bodies = st.fixed_dictionaries({"data": st.dictionaries(valid_keys, valid_values, max_size=MAX_KEYS)}, optional={"device_token": tokens})
# A valid body with one thing wrong: a bad key or value, too many keys, or an unknown field.
nearly_valid_bodies = st.one_of(
    st.tuples(valid_bodies, invalid_keys, valid_values).map(lambda t: {**t[0], "data": {**t[0]["data"], t[1]: t[2]}}),
    st.tuples(valid_bodies, valid_keys, invalid_values).map(lambda t: {**t[0], "data": {**t[0]["data"], t[1]: t[2]}}),
    st.dictionaries(valid_keys, valid_values, min_size=MAX_KEYS + 1, max_size=MAX_KEYS + 3).map(lambda data: {"data": data}),
    st.tuples(valid_bodies, st.text(max_size=10).filter(lambda name: name not in ("data", "device_token")), json_values).map(
        lambda t: {**t[0], t[1]: t[2]}
    ),
)
any_bodies = st.one_of(valid_bodies, nearly_valid_bodies, json_values)
# Bodies that are not a JSON object of this shape at all, or not JSON.
malformed_bodies = st.sampled_from(
    [b"", b"   ", b"null", b"[]", b"{", b'{"data": {"a": NaN}}', b'{"data": {"a": Infinity}}', b'{"data": {"a": 1e400}}',
     b'{"data": {"a": 1}} trailing', b"\xff\xfe", b'{"data": "x"}']
)


def valid_value(value):
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return INT_RANGE[0] <= value <= INT_RANGE[1]
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return len(value) <= MAX_STRING
    return False


def acceptable(body):
    """Whether the contract accepts this telemetry body (tokens aside)."""
    return (
        isinstance(body, dict)
        and set(body) <= {"data", "device_token"}
        and isinstance(body.get("data"), dict)
        and len(body["data"]) <= MAX_KEYS
        and all(KEY.fullmatch(key) and valid_value(value) for key, value in body["data"].items())
    )


def typed(data):
    """Values with their JSON types, so that 1, 1.0, true and "1" compare unequal."""
    return {key: (type(value).__name__, value) for key, value in data.items()}


def stored_readings(app, device_id):
    with app.app_context():
        rows = db.session.execute(select(Reading.key, Reading.value).where(Reading.device_id == device_id)).all()
        db.session.remove()
    return {key: values.decode(value) for key, value in rows}


def latest_data(client, device):
    return client.get("/telemetry/latest", headers={"Authorization": f"Bearer {device.token}"}).json["data"]


@given(body=any_bodies)
def test_any_json_body_is_stored_exactly_or_refused_with_nothing_stored(app, client, make_device, body):
    device = make_device()
    if isinstance(body, dict) and body.get("device_token") == "<real>":
        body = {**body, "device_token": device.token}
    raw = json.dumps(body).encode()

    response = client.post(
        f"/devices/{device.id}/telemetry", data=raw, content_type="application/json", headers={"Authorization": f"Bearer {device.token}"}
    )

    event(f"status {response.status_code}")
    if len(raw) > MAX_BODY_BYTES:
        assert response.status_code == 413, response.json
    elif acceptable(body):
        assert response.status_code == 200, response.json
        assert typed(response.json["data"]) == typed(body["data"])
        assert typed(latest_data(client, device)) == typed(body["data"])
        assert typed(stored_readings(app, device.id)) == typed(body["data"])
        return
    else:
        assert response.status_code == 400, response.json
        assert response.json["error"] == "invalid_request" and response.json["message"]
    assert stored_readings(app, device.id) == {}
    assert latest_data(client, device) == {}


@given(raw=malformed_bodies)
def test_malformed_body_is_400_with_nothing_stored(app, client, make_device, raw):
    device = make_device()

    response = client.post(f"/devices/{device.id}/telemetry", data=raw, headers={"Authorization": f"Bearer {device.token}"})

    assert response.status_code == 400, response.json
    assert stored_readings(app, device.id) == {}


# The state model: reports and toggles of a few keys, with values chosen to collide (true, 1, 1.0, "1").
STATE_KEYS = ["v0", "v1", "temperature"]
state_values = st.sampled_from([0, 1, 1.0, True, False, "1", "on", 2.5, -3])
steps = st.lists(
    st.one_of(
        st.tuples(st.just("report"), st.dictionaries(st.sampled_from(STATE_KEYS), state_values, min_size=1)),
        st.tuples(st.just("toggle"), st.tuples(st.sampled_from(STATE_KEYS), state_values)),
    ),
    min_size=1,
    max_size=12,
)


def satisfies(reported, desired):
    """A report satisfies a desired value when they are equal numbers (true = 1 = 1.0) or the same string."""
    number = (bool, int, float)
    if isinstance(reported, number) and isinstance(desired, number):
        return float(reported) == float(desired)
    return type(reported) is type(desired) and reported == desired


def expected_pending(reported, desired, key):
    return key not in reported or not satisfies(reported[key], desired[key])


@given(steps=steps)
def test_state_is_last_toggle_for_control_pins_and_last_report_otherwise(client, make_device, steps):
    device = make_device()
    owner = device.owner.headers
    reported, desired = {}, {}

    for kind, change in steps:
        if kind == "report":
            response = client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": change})
            assert response.status_code == 200
            reported.update(change)
        else:
            key, value = change
            response = client.put(f"/api/devices/{device.id}/pins/{key}", json={"value": value}, headers=owner)
            assert response.status_code == 200
            desired[key] = value
            assert response.json["pending"] is expected_pending(reported, desired, key)
        assert typed(response.json["data"]) == typed({**reported, **desired})

    assert typed(latest_data(client, device)) == typed({**reported, **desired})
    for key, value in desired.items():
        # Setting a pin to the value it already has changes nothing, and reads back whether it is pending.
        again = client.put(f"/api/devices/{device.id}/pins/{key}", json={"value": value}, headers=owner)
        assert again.json["pending"] is expected_pending(reported, desired, key), (key, reported, desired)
