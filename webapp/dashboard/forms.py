"""Reading a submitted form with the same pydantic models that validate the JSON API."""
from flask import request
from pydantic import ValidationError

from webapp.core.errors import InvalidRequest
from webapp.http.request_body import describe_validation_error


def form_model(model, fields):
    """The form's `fields` validated as `model`; a field left empty counts as not given."""
    data = {name: request.form[name].strip() for name in fields if request.form.get(name, "").strip()}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_error(exc).replace("Value error, ", "")) from None


def form_int(name):
    try:
        return int(request.form.get(name, ""))
    except ValueError:
        raise InvalidRequest(f"{name} must be a whole number.") from None
