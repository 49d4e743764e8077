"""Baseline for the intake benchmark: a bare Flask endpoint that only commits the raw body.

The floor cost of "stored first" on the same database: one INSERT and COMMIT per request, nothing else.
Serve with ``gunicorn bench.minimal_commit_app:app`` and ``BENCH_DATABASE_URL`` set.
"""

from __future__ import annotations

import os

from flask import Flask, request
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, create_engine, insert

metadata = MetaData()
raw_bodies = Table("bench_raw_bodies", metadata, Column("id", Integer, primary_key=True), Column("body", LargeBinary))
engine = create_engine(os.environ["BENCH_DATABASE_URL"])
# The table is created by bench/intake_bench.py before the server starts: two gunicorn workers creating
# it at once race, and the loser's failed boot stops the whole server.

app = Flask(__name__)


@app.post("/store")
def store():
    """Commit the raw body and answer 201."""
    with engine.begin() as connection:
        connection.execute(insert(raw_bodies).values(body=request.get_data()))
    return {"stored": True}, 201
