"""Each package is one layer and imports only the layers below it (docs/ARCHITECTURE.md).

The layers, bottom first; a module may import its own package and anything
of a lower layer, nothing beside or above it. A package's __init__ may
import its own modules (that is how its routes register). A new package
must be placed here before it can be imported.
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

LAYERS = [
    ["webapp.config", "webapp.extensions"],
    ["webapp.core", "webapp.pubsub"],
    ["webapp.models"],
    ["webapp.schemas"],
    # The domain: what every group builds on, then the groups, each only on those before it.
    ["webapp.services.directory", "webapp.services.notification_groups", "webapp.services.ownership"],
    ["webapp.services.notifications", "webapp.services.outbox"],
    ["webapp.services.events"],
    ["webapp.services.accounts", "webapp.services.history", "webapp.services.platform", "webapp.services.webhooks"],
    ["webapp.services.devices"],
    ["webapp.services.alerts", "webapp.services.demo", "webapp.services.ota"],
    ["webapp.services.ingest"],
    ["webapp.http"],
    ["webapp.auth"],
    ["webapp.api", "webapp.apidocs", "webapp.dashboard", "webapp.device_api", "webapp.monitoring", "webapp.transports"],
    ["webapp.realtime"],
    ["webapp.cli", "webapp.workers"],
    ["webapp"],
]


def layer_of(module):
    """(layer index, the package it belongs to) for a module of webapp."""
    best = None
    for index, packages in enumerate(LAYERS):
        for package in packages:
            if (module == package or module.startswith(package + ".")) and (best is None or len(package) > len(best[1])):
                best = (index, package)
    assert best is not None, f"{module} is in no layer of tests/test_layers.py"
    return best


def webapp_modules():
    for path in sorted((ROOT / "webapp").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield (".".join(parts[:-1]) if parts[-1] == "__init__" else ".".join(parts)), path


def imports_of(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


MODULES = dict(webapp_modules())
SERVICES_ROOT = "webapp.services"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_go_down(module):
    layer, package = layer_of(module) if module != SERVICES_ROOT else (len(LAYERS), module)
    for imported in imports_of(MODULES[module]):
        if imported not in MODULES or imported in (SERVICES_ROOT, module):
            continue
        if imported.startswith(module + ".") and MODULES[module].name == "__init__.py":
            continue  # a package assembling itself
        other_layer, other_package = layer_of(imported)
        assert other_package == package or other_layer < layer, f"{module} (layer {layer}) imports {imported} (layer {other_layer})"
