"""Adapters: the database and (later) external scheduling systems."""
