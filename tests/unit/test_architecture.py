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
