"""Use cases: each function is one transaction over the database and the scheduling system."""
