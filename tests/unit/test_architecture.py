"""Layering: the domain stays pure Python, so triage and routing are testable without a server."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "routing" / "domain"
FORBIDDEN = (
    "flask",
    "flask_smorest",
    "sqlalchemy",
    "alembic",
    "requests",
    "marshmallow",
    "routing.adapters",
    "routing.http",
    "routing.services",
)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", sorted(DOMAIN.rglob("*.py")), ids=lambda path: path.name)
def test_domain_modules_import_no_framework_database_or_http_code(module):
    offending = {name for name in _imports(module) if name.split(".")[0] in FORBIDDEN or name.startswith(FORBIDDEN)}

    assert not offending, f"{module.name} imports {sorted(offending)}"


HTTP = Path(__file__).resolve().parents[2] / "routing" / "http"
#: What only services do: open, end or roll back a transaction, write the audit trail, touch models.
SERVICE_ONLY_CALLS = ("begin", "begin_nested", "commit", "rollback", "record")
SERVICE_ONLY_IMPORTS = ("routing.adapters.db.models",)


def _calls(path: Path) -> set[str]:
    return {
        node.func.attr
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }


@pytest.mark.parametrize("module", sorted(HTTP.rglob("*.py")), ids=lambda path: path.name)
def test_views_leave_transactions_audit_and_models_to_services(module):
    calls = sorted(_calls(module) & set(SERVICE_ONLY_CALLS))
    models = sorted(name for name in _imports(module) if name.startswith(SERVICE_ONLY_IMPORTS))

    assert (calls, models) == ([], []), f"{module.name} calls {calls} and imports {models}"


PACKAGE = DOMAIN.parent


def _private_imports(path: Path) -> list[str]:
    """Names starting with an underscore imported from another of our modules (``from x import _y``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("routing"):
            private = (alias.name for alias in node.names if alias.name.startswith("_"))
            found += [f"{node.module}.{name}" for name in private if not name.endswith("__")]  # dunders are public
    return found


def test_no_module_imports_another_modules_private_names():
    offenders = {
        str(path.relative_to(PACKAGE.parent)): names
        for path in sorted(PACKAGE.rglob("*.py"))
        if (names := _private_imports(path))
    }

    assert offenders == {}
