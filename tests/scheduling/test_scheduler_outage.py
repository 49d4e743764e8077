"""The scheduling system going away in the middle of a batch of inquiries: nothing is lost."""

from __future__ import annotations

import time
from collections import Counter
from urllib.parse import urlsplit

from sqlalchemy import select

from routing import create_app
from routing.adapters.db.models import Appointment, Inquiry
from routing.services import booking_queue
from tests.faults.tcp_proxy import TcpProxy
from tests.http.intake_helpers import inquiry
from tests.scheduling.test_fhir_end_to_end import fhir_settings, soon


def post(client, n: int):
    return client.post(
        "/v1/inquiries",
        json=inquiry(message=f"Lifted boxes on day {n}, back spasm."),
        headers={"Idempotency-Key": f"fault-{n}"},
    )


def test_a_scheduler_outage_mid_batch_loses_nothing(migrated_url, fhir_base_url, fhir_server, service_types):
    fhir = urlsplit(fhir_base_url)
    proxy = TcpProxy(fhir.hostname, fhir.port)
    proxied = fhir_base_url.replace(f":{fhir.port}/", f":{proxy.port}/")
    fhir_server.seed_slots(service_types["consult"], soon(120, every_minutes=5))
    app = create_app(
        fhir_settings(
            migrated_url,
            proxied,
            service_types,
            ROUTING_BOOKING_RETRY_SECONDS="0",
            FHIR_RETRIES="0",
            FHIR_BREAKER_RESET_SECONDS="0.2",
        )
    )
    client = app.test_client()
    try:
        answers = [post(client, n).status_code for n in range(30)]
        proxy.cut()
        answers += [post(client, n).status_code for n in range(30, 70)]
        proxy.restore()
        time.sleep(0.3)  # the breaker's reset time: the next call is its trial
        answers += [post(client, n).status_code for n in range(70, 100)]
        with app.extensions["routing"].db.session() as session:
            pending = session.scalar(select(Inquiry).where(Inquiry.status == "pending_booking").limit(1))
        assert pending is not None
        while True:
            with app.extensions["routing"].db.session() as session:
                if booking_queue.work_one(session, app.extensions["routing"].routing) is None:
                    break
    finally:
        proxy.close()

    assert Counter(answers) == {201: 60, 202: 40}
    with app.extensions["routing"].db.session() as session:
        statuses = Counter(session.scalars(select(Inquiry.status)).all())
        slots = session.scalars(select(Appointment.external_slot_id)).all()
    assert statuses == {"booked": 100}
    assert len(slots) == len(set(slots)) == 100
    app.extensions["routing"].db.dispose()
