"""Reading a submitted form with the same pydantic models that validate the JSON API, and answering it.

Every form works without htmx too (before it loads, or where it never does):
it has its own action and method, and a plain submission is answered with a
page (`answer`), where htmx gets the fragment it swaps in.
"""
import orjson
from flask import redirect, request
from pydantic import ValidationError

from webapp.core.errors import InvalidRequest
from webapp.core.ids import in_range
from webapp.http.request_body import describe_validation_error


def form_model(model, fields, parse=None):
    """The form's `fields` validated as `model`; a field left empty counts as not given.

    `parse` maps a field's name to a function that turns its text into the value the model takes.
    """
    parse = parse or {}
    data = {name: request.form[name].strip() for name in fields if request.form.get(name, "").strip()}
    data = {name: parse.get(name, str)(text) for name, text in data.items()}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_error(exc).replace("Value error, ", "")) from None


def form_int(name):
    try:
        value = int(request.form.get(name, ""))
    except ValueError:
        value = None
    if value is None or not in_range(value):
        raise InvalidRequest(f"{name} must be a whole number between -2^63 and 2^63 - 1.")
    return value


def typed_value(text):
    """What a person typed as a value: a number or true/false as such, anything else as text."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    return value if isinstance(value, (bool, int, float)) else text


def from_htmx():
    return request.headers.get("HX-Request") == "true"


def answer(fragment, page_url):
    """htmx's request gets `fragment()` to swap in; a plain form submission is sent on to `page_url` (303)."""
    return fragment() if from_htmx() else redirect(page_url, 303)
