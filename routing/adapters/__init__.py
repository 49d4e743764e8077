"""Adapters: the database and the scheduling systems."""
