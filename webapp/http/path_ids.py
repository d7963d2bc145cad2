"""Ids in paths (`<int:…>`) past what a BIGINT column holds name no row: 404 (core/ids.py).

Checked once the route is chosen rather than by the converter: werkzeug answers 405 instead of 404
when a converter refuses a path that a rule for another method matches.
"""
from werkzeug.exceptions import NotFound

from webapp.core.ids import in_range


def _refuse_ids_out_of_range(endpoint, values):
    if values and any(isinstance(value, int) and not in_range(value) for value in values.values()):
        raise NotFound()


def init_app(app):
    app.url_value_preprocessor(_refuse_ids_out_of_range)
