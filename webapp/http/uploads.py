"""File uploads (multipart/form-data): a larger body limit for the views that take one, and reading their fields.

Every other request keeps the small MAX_CONTENT_LENGTH; a view marked with
`takes_upload(SETTING)` accepts that setting's bytes plus the form around
them. The limit is known as soon as the URL is matched, before any hook
reads the form (the CSRF check reads its token from a plain form's fields).
"""
from flask import Request, current_app, request
from pydantic import ValidationError

from webapp.core.errors import InvalidRequest
from webapp.http.request_body import describe_validation_error

# The multipart framing and the other fields around the file.
FORM_OVERHEAD_BYTES = 64 * 1024


def takes_upload(setting):
    """Mark a view as taking a file of up to `setting` (a config name) bytes."""

    def mark(view):
        view.upload_limit_setting = setting
        return view

    return mark


class UploadRequest(Request):
    @property
    def max_content_length(self):
        view = current_app.view_functions.get(self.endpoint) if self.url_rule is not None else None
        setting = getattr(view, "upload_limit_setting", None)
        if setting is None:
            return super().max_content_length
        return current_app.config[setting] + FORM_OVERHEAD_BYTES


def uploaded_file(name):
    """The uploaded file of field `name`: InvalidRequest when the request has none."""
    upload = request.files.get(name)
    if upload is None:
        raise InvalidRequest(f"Send the file as multipart/form-data in the field '{name}'.")
    return upload


def upload_fields(model):
    """The upload's other form fields, validated as `model`."""
    data = {name: request.form[name] for name in model.model_fields if name in request.form}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_error(exc)) from None
