"""Scheduling systems: the embedded scheduler (slots in our database) and, later, a FHIR adapter."""
