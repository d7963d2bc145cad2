"""Blynk's device HTTP API: write pins (one, several, or one pin's history), read pins, ask whether the device is connected.

Requests as Blynk's HTTPS API documentation gives them (`?token=…&V1=…`), and
the legacy Blynk server's paths. A pin's value arrives as text: a whole
number or a decimal is stored as a number, anything else as text. Answers
are Blynk's: an empty 200 for a write, the bare value for one pin read.
"""
import re

from flask import current_app
from pydantic import ValidationError
from werkzeug.wrappers import Request

from webapp.core.errors import InvalidRequest, InvalidToken, shown
from webapp.http.client_address import client_address
from webapp.http.replies import Reply
from webapp.http.request_body import describe_validation_error, parse_body
from webapp.schemas.blynk import PINS, BlynkConnected, BlynkHistoryIn, BlynkLegacyValue, BlynkValues, pin_key
from webapp.services.ingest import device_requests
from webapp.services.ingest import telemetry as ingest
from webapp.transports.blynk.blueprint import routes

OK = Reply(200)
NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


@routes.route("GET", "/external/api/update")
def update(environ):
    """`?token=T&V1=100` (several pins at once too), or `?token=T&pin=V1&value=100`."""
    token, query = _token_and_query(environ)
    _write(environ, token, _pins_written(query))
    return OK


@routes.route("GET", "/external/api/batch/update")
def batch_update(environ):
    """`?token=T&V1=1&V2=2`: several pins in one reading."""
    token, query = _token_and_query(environ)
    _write(environ, token, _pins_written(query))
    return OK


@routes.route("POST", "/external/api/batch/update")
def upload_history(environ):
    """`?token=T&pin=V1` with `[[ts, value], …]`: one pin's readings at their times (idempotent on ts)."""
    token, query = _token_and_query(environ)
    key = _pin(query.get("pin", ""))
    config = current_app.config
    history = parse_body(BlynkHistoryIn, config["MAX_BATCH_BODY_BYTES"], environ).root
    if len(history) > config["MAX_BATCH_RECORDS"]:
        raise InvalidRequest(f"At most {config['MAX_BATCH_RECORDS']} values per request.")
    ingest.ingest_records(token, [(ts, {key: value}, None) for ts, value in history], client_address(environ))
    return OK


@routes.route("GET", "/external/api/get")
def get_pins(environ):
    """`?token=T&V1`: the pin's value, bare; `&V1&V2`: `{"V1": "…", "V2": "…"}`."""
    token, query = _token_and_query(environ)
    asked = [name for name in query if name != "token"]
    if not asked:
        raise InvalidRequest("Name the pins to read, e.g. &V1.")
    data = device_requests.attributes(token, client_address(environ)).data
    values = {name: _text(data, _pin(name)) for name in asked}
    if len(values) == 1:
        return Reply(200, next(iter(values.values())).encode(), [("Content-Type", "text/plain; charset=utf-8")])
    return Reply(200, BlynkValues(values))


@routes.route("GET", "/external/api/isHardwareConnected")
def is_hardware_connected(environ):
    token, _ = _token_and_query(environ)
    return Reply(200, BlynkConnected(ingest.device_status(token, client_address(environ)) == "online"))


@routes.route("GET", "/<token>/update/<pin>")
def legacy_update(environ, token, pin):
    """The legacy server's `/{token}/update/{pin}?value=…`."""
    value = Request(environ).args.get("value")
    if value is None:
        raise InvalidRequest("No value: send ?value=…")
    _write(environ, token, {_pin(pin): _value(value)})
    return OK


@routes.route("GET", "/<token>/get/<pin>")
def legacy_get(environ, token, pin):
    """The legacy server's `/{token}/get/{pin}`: `["value"]`."""
    data = device_requests.attributes(token, client_address(environ)).data
    return Reply(200, BlynkLegacyValue([_text(data, _pin(pin))]))


@routes.route("GET", "/<token>/isHardwareConnected")
def legacy_is_hardware_connected(environ, token):
    return Reply(200, BlynkConnected(ingest.device_status(token, client_address(environ)) == "online"))


def _token_and_query(environ):
    query = Request(environ).args
    token = query.get("token")
    if not token:
        raise InvalidToken("Invalid token.")
    return token, query


def _write(environ, token, pins):
    try:
        data = PINS.validate_python(pins)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_error(exc)) from None
    ingest.ingest_telemetry(token, data, client_address(environ))


def _pins_written(query):
    """{key: value} from `V1=…` arguments, or from `pin=V1&value=…`."""
    if "pin" in query:
        if "value" not in query:
            raise InvalidRequest("No value: send &value=…")
        return {_pin(query["pin"]): _value(query["value"])}
    pins = {}
    for name in query:
        if name == "token":
            continue
        values = query.getlist(name)
        if len(values) != 1:
            raise InvalidRequest(f"One value per pin: {name} has {len(values)}.")
        pins[_pin(name)] = _value(values[0])
    if not pins:
        raise InvalidRequest("No pin to write: send &V1=…")
    return pins


def _pin(name):
    key = pin_key(name)
    if key is None:
        raise InvalidRequest(f"Wrong pin format: '{shown(name)}' (virtual pins V0 to V255).")
    return key


def _value(text):
    """A whole number or a decimal as a number (Blynk sends every value as text), else the text."""
    if NUMBER.match(text):
        number = float(text)
        return int(text) if re.fullmatch(r"-?\d+", text) and -(2**63) <= int(text) < 2**63 else number
    return text


def _text(data, key):
    if key not in data:
        raise InvalidRequest(f"Requested pin {key.upper()} has no value yet.")
    value = data[key]
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
