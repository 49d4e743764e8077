"""Observability without patient data: request ids, JSON log lines, domain events and Prometheus metrics.

Services use :mod:`~routing.observability.events` (no Flask); :mod:`~routing.observability.request_id`
reads the request id from Flask's ``g`` for the log formatter; the Flask hooks and ``/metrics`` live in
:mod:`routing.http.observability`.
"""
