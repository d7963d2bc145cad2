"""Every JSON answer of a documented operation is what /openapi.json says it is.

Each operation is called by every kind of caller (the authorization matrix's
table, tests/security/routes.py), and each JSON answer whose status the
operation documents is checked twice: against the schema the published
document gives for that status, and against the response model the view
declares, field for field. The answers are built by those same models
(http/replies.py), so this catches a model that no longer matches what the
document promises, a status that answers without being documented, and a
body built some other way.
"""
import re

import jsonschema
import pytest
from flask import url_for

from tests.security.conftest import ACTORS
from tests.security.routes import ROUTES, body_of, resolve
from webapp.schemas import ErrorOut

# The JSON APIs' operations; the first test proves these are all that the document has.
OPERATIONS = sorted(key for key in ROUTES if key[0].startswith(("api.", "device_api.")))


def test_every_documented_operation_is_checked(app):
    documented = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], "openapi", None) is not None
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }

    assert documented == set(OPERATIONS)


@pytest.mark.parametrize(("endpoint", "method"), OPERATIONS, ids=[f"{method} {endpoint}" for endpoint, method in OPERATIONS])
def test_answers_match_the_document_and_the_response_model(app, client, world, act_as, endpoint, method):
    document = client.get("/openapi.json").json
    spec = app.view_functions[endpoint].openapi
    call = ROUTES[endpoint, method]
    with app.test_request_context():
        url = url_for(endpoint, **resolve(call.values, world))
    (rule,) = app.url_map.iter_rules(endpoint)
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
    documented = document["paths"][path][method.lower()]

    checked = set()
    for actor in ACTORS:
        caller = act_as(actor)
        response = caller.client.open(url, method=method, headers=caller.headers, **body_of(call, world))
        assert str(response.status_code) in documented["responses"], f"{method} {path} answered {actor} {response.status_code}, which is not documented"
        if response.mimetype != "application/json":
            continue
        body = response.get_json()
        schema = documented["responses"][str(response.status_code)]["content"]["application/json"]["schema"]
        jsonschema.Draft202012Validator({**schema, "components": document["components"]}).validate(body)
        parsed = response_model(spec, response.status_code).model_validate(body)
        assert parsed.model_dump(mode="json", by_alias=True, exclude_unset=True) == body, "the body holds more than its model"
        checked.add(response.status_code)

    success = {status for status in spec["responses"] if 200 <= status < 300 and response_model(spec, status) is not None}
    assert success <= checked, f"no caller got a documented {sorted(success - checked)} from {method} {path}"


def response_model(spec, status):
    declared = spec["responses"].get(status)
    model = declared[0] if isinstance(declared, tuple) else declared
    return model if model is not None or status < 400 else ErrorOut
