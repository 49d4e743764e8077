"""Fuzz suites: schemathesis against /openapi.json and hypothesis-generated hostile intake bodies."""
