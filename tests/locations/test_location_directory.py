"""The sites each process keeps: read without waiting for a writer, refreshed after a change."""

from __future__ import annotations

from sqlalchemy import text

from tests.locations.helpers import open_sites, wiring


def test_the_sites_are_read_even_inside_a_transaction_holding_the_write_lock(app):
    # An override tells the patient the time in the site's zone while its own transaction holds SQLite's write
    # lock; a read that waited for that lock would wait for itself (30 s, then no sites at all).
    w = wiring(app)
    with w.db.session() as session, session.begin():
        session.execute(text("UPDATE locations SET name = name"))
        w.locations.expire()
        sites = w.locations.sites()

    assert [site.id for site in sites] == ["main"]


def test_a_site_added_is_seen_once_the_directory_is_expired(app):
    open_sites(app)

    assert [site.id for site in wiring(app).locations.sites()] == ["downtown", "holyoke", "north", "worcester"]
