"""The OpenAPI 3.1 document, generated from the pydantic schemas that the views validate with.

A view declares its operation with `@operation(...)`; `build_document`
walks the URL map, so a route and its documentation cannot drift apart.
Every operation that creates something (201) links to the operations under
its path that take the new thing's id (OpenAPI links), so a client, and a
stateful fuzzer, can follow from creating to reading, changing and deleting.
"""
from pydantic.json_schema import models_json_schema
from werkzeug.routing import IntegerConverter

from webapp.core.ids import MAX_ID
from webapp.http.device_routes import is_device_endpoint
from webapp.schemas import ErrorOut

SECURITY_SCHEMES = {
    "deviceToken": {"type": "http", "scheme": "bearer", "description": "A device token; may instead be sent as `device_token` in the body or query."},
    "apiToken": {"type": "http", "scheme": "bearer", "description": "A personal API token (`flask --app wsgi user api-token EMAIL`)."},
    "session": {"type": "apiKey", "in": "cookie", "name": "session", "description": "The dashboard's login session."},
}

ERROR_TEXT = {
    400: "The body is not JSON or not of this shape.",
    401: "Not logged in and no valid API token.",
    403: "Token missing, wrong or revoked, or a security rule denied the request.",
    404: "No such device (or not one of yours).",
    409: "Conflicts with what exists.",
    413: "The body is too large.",
    429: "Rate limit exceeded; see Retry-After.",
    503: "The database is unreachable.",
}


def operation(summary, *, tags, responses, body=None, security=None, parameters=(), description=None, other_content=None, upload=None):
    """Attach the OpenAPI description of a view: `responses` maps status → model (or None, or (model, text)).

    `security` names the schemes that authenticate it; left out, a device route
    (http/device_routes.py) takes the device token, any other route none.

    Path parameters are documented as plain strings unless `parameters` declares them.
    `other_content` maps a status to media types the response may take besides JSON,
    e.g. `{200: {"text/csv": {"schema": {"type": "string"}}}}`.
    `upload` = (file field, model of the other fields) documents a multipart/form-data body instead of JSON.
    """

    def attach(view):
        view.openapi = {
            "summary": summary,
            "tags": tags,
            "responses": responses,
            "body": body,
            "security": security,
            "parameters": parameters,
            "description": description,
            "other_content": other_content or {},
            "upload": upload,
        }
        return view

    return attach


def query_parameters(model):
    """The OpenAPI query parameters of a pydantic model of a query string (aliases as names)."""
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    parameters = []
    for name, field in schema["properties"].items():
        field = _without_null(field)
        description = field.pop("description", None)
        field.pop("title", None)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": field}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _without_null(field):
    """An optional parameter's schema is its type: absent, not null, is how a query string leaves it out."""
    field = dict(field)
    branches = [branch for branch in field.get("anyOf", ()) if branch != {"type": "null"}]
    if "anyOf" in field and len(branches) == 1:
        del field["anyOf"]
        field.update(branches[0])
    if field.get("default", "") is None:
        del field["default"]
    return field


def build_document(app):
    operations = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        spec = getattr(app.view_functions.get(rule.endpoint), "openapi", None)
        if spec is None:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operations.append((_openapi_path(rule), method.lower(), rule, spec))

    models = {ErrorOut}
    for *_, spec in operations:
        models.update(m for m in _models_of(spec) if m is not None)
    refs, schemas = models_json_schema(
        [(model, "validation") for model in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    ref = {model: refs[(model, "validation")] for model in models}

    paths = {}
    for path, method, rule, spec in operations:
        paths.setdefault(path, {})[method] = _operation(rule, method, spec, ref)
    _link_created_things(paths, operations)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ThingsNXT API",
            "version": "1",
            "description": "The device-facing telemetry API and the owner/admin API. See docs/ESP32_TELEMETRY_API_GUIDE.md.",
        },
        "paths": paths,
        "components": {"schemas": schemas.get("$defs", {}), "securitySchemes": SECURITY_SCHEMES},
    }


def _link_created_things(paths, operations):
    """Links from each 201 to the operations one path segment `/{<name>}` below, given the new thing's id.

    The created model carries the id as `id`, or under the parameter's own name (`device_id`); the
    creating request's path parameters carry over to the same names.
    """
    for path, method, _, spec in operations:
        created = spec["responses"].get(201)
        created = created[0] if isinstance(created, tuple) else created
        if created is None:
            continue
        links = {}
        for target_path, target_method, target_rule, _ in operations:
            if not target_path.startswith(path + "/{"):
                continue
            parameter = target_path[len(path) + 2 :].split("}", 1)[0]
            field = "id" if "id" in created.model_fields else parameter
            if field not in created.model_fields:
                continue
            parameters = {name: f"$request.path.{name}" for name in target_rule.arguments if "{" + name + "}" in path}
            parameters[parameter] = f"$response.body#/{field}"
            operation_id = paths[target_path][target_method]["operationId"]
            links[operation_id] = {"operationId": operation_id, "parameters": parameters}
        if links:
            paths[path][method]["responses"]["201"]["links"] = links


def _openapi_path(rule):
    path = rule.rule
    for argument in rule.arguments:
        for converter in ("", "string:", "path:", "int:"):
            path = path.replace(f"<{converter}{argument}>", "{" + argument + "}")
    return path


def _upload_schema(file_field, fields):
    schema = fields.model_json_schema()
    return {
        "type": "object",
        "properties": {file_field: {"type": "string", "format": "binary"}, **schema["properties"]},
        "required": [file_field, *schema.get("required", ())],
    }


def _models_of(spec):
    yield spec["body"]
    for response in spec["responses"].values():
        yield response[0] if isinstance(response, tuple) else response


def _path_schema(rule, argument):
    # An id past MAX_ID names nothing (404): a schema without a maximum lets clients, and the fuzzer, try one.
    if isinstance(rule._converters.get(argument), IntegerConverter):
        return {"type": "integer", "minimum": 0, "description": f"An id; past {MAX_ID} none exists (404)."}
    return {"type": "string"}


def _operation(rule, method, spec, ref):
    declared = {parameter["name"] for parameter in spec["parameters"] if parameter["in"] == "path"}
    parameters = [
        {"name": argument, "in": "path", "required": True, "schema": _path_schema(rule, argument)}
        for argument in sorted(rule.arguments - declared)
    ] + list(spec["parameters"])
    responses = {}
    for status, response in sorted(spec["responses"].items()):
        model, text = response if isinstance(response, tuple) else (response, None)
        entry = {"description": text or ERROR_TEXT.get(status, "OK")}
        if status >= 400:
            model = model or ErrorOut
        if status == 429:
            entry["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
        if model is not None:
            entry["content"] = {"application/json": {"schema": ref[model]}}
        if status in spec["other_content"]:
            entry["content"] = entry.get("content", {}) | spec["other_content"][status]
        responses[str(status)] = entry
    operation = {
        "summary": spec["summary"],
        "tags": spec["tags"],
        "operationId": f"{rule.endpoint.replace('.', '_')}_{method}",
        "responses": responses,
    }
    if spec["description"]:
        operation["description"] = spec["description"]
    if parameters:
        operation["parameters"] = parameters
    if spec["body"] is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref[spec["body"]]}}}
    if spec["upload"] is not None:
        operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": _upload_schema(*spec["upload"])}}}
    security = spec["security"]
    if security is None:
        security = ["deviceToken"] if is_device_endpoint(rule.endpoint) else []
    operation["security"] = [{scheme: []} for scheme in security]
    return operation
