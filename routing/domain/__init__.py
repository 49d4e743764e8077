"""Pure domain logic (vocabulary, triage, routing): no Flask, SQLAlchemy or HTTP imports."""
