"""/openapi.json documents every API route; /docs and /redoc render it from local assets."""
import re

from openapi_spec_validator import validate


def test_document_is_valid_openapi_3_1(client):
    document = client.get("/openapi.json").json

    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_api_route_is_documented_with_its_methods(app, client):
    documented = client.get("/openapi.json").json["paths"]

    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("api.", "device_api.")):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in documented.get(path, {}), f"{method} {path} is not documented"


def test_device_operations_document_the_error_contract(client):
    paths = client.get("/openapi.json").json["paths"]

    v2 = paths["/devices/{device_id}/telemetry"]["post"]
    assert {"200", "400", "403", "404", "413", "429"} <= set(v2["responses"])
    assert v2["responses"]["429"]["headers"]["Retry-After"]
    assert v2["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/TelemetryIn")
    assert "304" in paths["/telemetry/latest"]["get"]["responses"]


def test_request_schema_carries_the_validation_limits(client):
    schemas = client.get("/openapi.json").json["components"]["schemas"]

    data = schemas["TelemetryIn"]["properties"]["data"]
    assert data["maxProperties"] == 64
    assert "^[A-Za-z_][A-Za-z0-9_.-]{0,63}$" in data["patternProperties"]


def test_docs_pages_load_their_assets_from_this_server(client):
    for page in ("/docs", "/redoc"):
        html = client.get(page).get_data(as_text=True)
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources and all(source.startswith("/") for source in sources), sources
        for source in sources:
            assert client.get(source).status_code == 200, source
        assert "<script>" not in html


def test_unknown_docs_asset_is_404(client):
    assert client.get("/docs/assets/nothing/x.js").status_code == 404
    assert client.get("/docs/assets/swagger/../../../../etc/passwd").status_code == 404
