"""Intake and the booking worker on a real FHIR R4 scheduling server, including a whole outage.

The app is configured as in production (``ROUTING_SCHEDULER=fhir``); the server is Medplum's FHIR router
on loopback (tests/scheduling/conftest.py), the databases are SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from routing import create_app
from routing.adapters.db.models import Appointment, Inquiry, Referral, SchedulerEvent
from tests.conftest import settings_for
from tests.http.admin_helpers import bearer, make_token
from tests.http.intake_helpers import SECRET, inquiry, signed_headers
from tests.scheduling.conftest import TEST_IDENTITY
from tests.scheduling.fault_server import refused_url

REPO = Path(__file__).resolve().parents[2]
MRI_MESSAGE = "Back spasms on and off for 3 months. Muscle relaxants didn't help at all."  # p02: imaging


def fhir_settings(url, base_url: str, service_types: dict, **extra) -> dict:
    types = ",".join(f"{slot_type}={system}|{code}" for slot_type, (system, code) in service_types.items())
    options = {
        "ROUTING_SCHEDULER": "fhir",
        "FHIR_BASE_URL": base_url,
        "FHIR_SERVICE_TYPES": types,
        "FHIR_CONNECT_TIMEOUT": "0.5",
        "FHIR_READ_TIMEOUT": "5",
        "FHIR_RETRIES": "1",
        "ROUTING_SCHEDULER_EVENTS_SECRET": SECRET,  # required with the FHIR scheduler
    }
    return settings_for(url, **{**options, **extra})


@pytest.fixture
def fhir_app(migrated_url, fhir_base_url, service_types):
    application = create_app(fhir_settings(migrated_url, fhir_base_url, service_types))
    yield application
    application.extensions["routing"].db.dispose()


def post_event(client, event: dict, key: str):
    """A scheduling-system event, signed as the FHIR scheduler requires."""
    body = json.dumps(event).encode()
    headers = {**signed_headers(body, SECRET, key), "Content-Type": "application/json"}
    return client.post("/v1/scheduling/events", data=body, headers=headers)


def soon(count: int, every_minutes: int = 10) -> list[datetime]:
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=2)
    return [start + timedelta(minutes=every_minutes * n) for n in range(count)]


def test_intake_books_a_consult_on_the_fhir_server(fhir_app, fhir_server, service_types):
    slots = fhir_server.seed_slots(service_types["consult"], soon(2))

    response = fhir_app.test_client().post("/v1/inquiries", json=inquiry())

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "booked"
    with fhir_app.extensions["routing"].db.session() as session:
        ours = session.scalar(select(Appointment))
    assert ours.scheduler == "fhir"
    assert ours.external_slot_id == slots[0]
    remote = fhir_server.get(ours.external_id)
    assert remote["status"] == "booked"
    assert remote["slot"][0]["reference"] == slots[0]
    assert {"system": TEST_IDENTITY.inquiry_system, "value": body["id"]} in [
        {"system": i["system"], "value": i["value"]} for i in remote["identifier"]
    ]
    assert fhir_server.get(slots[0])["status"] == "busy"
    patient = remote["participant"][0]["actor"]
    assert patient["reference"].startswith("Patient/")
    record = fhir_server.get(patient["reference"])
    assert (record["name"][0]["family"], record["name"][0]["given"]) == (
        inquiry()["patient"]["last_name"],
        [inquiry()["patient"]["first_name"]],
    )


def test_an_imaging_route_orders_the_mri_and_bases_the_appointment_on_it(fhir_app, fhir_server, service_types):
    fhir_server.seed_slots(service_types["imaging"], soon(1), minutes=60)

    body = fhir_app.test_client().post("/v1/inquiries", json=inquiry(message=MRI_MESSAGE)).get_json()

    assert body["status"] == "booked", body
    with fhir_app.extensions["routing"].db.session() as session:
        referral = session.scalar(select(Referral))
        ours = session.scalar(select(Appointment))
    assert referral.external_id.startswith("ServiceRequest/")
    assert ours.referral_id == referral.id
    order = fhir_server.get(referral.external_id)
    assert order["intent"] == "order"
    assert order["status"] == "active"
    assert fhir_server.get(ours.external_id)["basedOn"][0]["reference"] == referral.external_id


def test_a_scheduler_outage_loses_nothing_and_workers_book_everything_once_it_is_back(
    migrated_url, fhir_base_url, fhir_server, service_types
):
    # Down: nothing listens where the app looks for the scheduling system.
    down = create_app(
        fhir_settings(migrated_url, refused_url(), service_types, ROUTING_BOOKING_RETRY_SECONDS="0", FHIR_RETRIES="0")
    )
    client = down.test_client()
    ids = []
    run = uuid.uuid4().hex[:8]
    for n in range(100):
        # A hundred patients: one patient's inquiries booked at once by two workers could register them twice
        # on the EHR, and their later inquiries would then (rightly) wait for staff to choose the record.
        body = inquiry(message=f"Lifted boxes on day {n} and my back spasmed.")
        body["patient"] = {**body["patient"], "last_name": f"Outage{run}x{n}"}
        response = client.post("/v1/inquiries", json=body)
        assert response.status_code == 202, response.get_json()
        assert response.get_json()["status"] == "pending_booking"
        ids.append(response.get_json()["id"])
    with down.extensions["routing"].db.session() as session:
        pending = session.scalar(select(func.count()).where(Inquiry.status == "pending_booking"))
    down.extensions["routing"].db.dispose()
    assert pending == 100

    # Back: the scheduling system answers again; two worker processes drain the queue.
    fhir_server.seed_slots(service_types["consult"], soon(110, every_minutes=5))
    env = {
        **os.environ,
        **{k: str(v) for k, v in fhir_settings(migrated_url, fhir_base_url, service_types).items() if k != "TESTING"},
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--until-idle"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs

    up = create_app(fhir_settings(migrated_url, fhir_base_url, service_types))
    with up.extensions["routing"].db.session() as session:
        statuses = Counter(session.scalars(select(Inquiry.status)).all())
        appointments = session.scalars(select(Appointment)).all()
    up.extensions["routing"].db.dispose()
    assert statuses == {"booked": 100}, outputs
    assert len(appointments) == 100
    assert {str(a.inquiry_id) for a in appointments} == set(ids)
    assert len({a.external_slot_id for a in appointments}) == 100  # no slot held twice
    remote = fhir_server.search("Appointment", identifier=f"{TEST_IDENTITY.inquiry_system}|{ids[0]}")
    assert len(remote) == 1
    booked_remote = {
        ref["reference"]
        for slot_type in ("consult",)
        for appointment in fhir_server.search("Appointment", _count="500", status="booked")
        for ref in appointment.get("slot", [])
        if appointment.get("serviceType", [{}])[0].get("coding", [{}])[0].get("system") == service_types[slot_type][0]
    }
    assert booked_remote == {a.external_slot_id for a in appointments}  # no second Appointment anywhere
    assert all(uuid.UUID(i) for i in ids)


def test_a_cancellation_reported_by_the_fhir_server_is_rebooked_there(fhir_app, fhir_server, service_types):
    slots = fhir_server.seed_slots(service_types["consult"], soon(2))
    client = fhir_app.test_client()
    client.post("/v1/inquiries", json=inquiry())
    with fhir_app.extensions["routing"].db.session() as session:
        first = session.scalar(select(Appointment))
    cancelled = {**fhir_server.get(first.external_id), "status": "cancelled"}
    fhir_server.update(cancelled)

    response = post_event(client, {"type": "appointment.cancelled", "appointment": first.external_id}, "fhir-evt-1")

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["action"] == "rebooked"
    with fhir_app.extensions["routing"].db.session() as session:
        live = session.scalar(select(Appointment).where(Appointment.status == "booked"))
    assert live.external_slot_id == slots[1]
    remote = fhir_server.get(live.external_id)
    assert remote["status"] == "booked"
    assert remote["id"] != first.external_id.split("/")[1]


@pytest.mark.parametrize(
    ("event_type", "server_status"),
    [("appointment.cancelled", "booked"), ("appointment.noshow", "booked"), ("appointment.cancelled", "noshow")],
)
def test_an_event_the_fhir_server_does_not_confirm_is_recorded_and_ignored(
    fhir_app, fhir_server, service_types, event_type, server_status
):
    fhir_server.seed_slots(service_types["consult"], soon(2))
    client = fhir_app.test_client()
    client.post("/v1/inquiries", json=inquiry())
    with fhir_app.extensions["routing"].db.session() as session:
        first = session.scalar(select(Appointment))
    if server_status != "booked":
        fhir_server.update({**fhir_server.get(first.external_id), "status": server_status})

    event = {"type": event_type, "appointment": first.external_id}
    response = post_event(client, event, f"false-{event_type}-{server_status}")

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["action"], body["note"]) == (
        "ignored",
        f"the scheduling system shows the appointment as {server_status}",
    )
    with fhir_app.extensions["routing"].db.session() as session:
        assert [(a.external_id, a.status) for a in session.scalars(select(Appointment))] == [
            (first.external_id, "booked")
        ]
        stored = session.scalar(select(SchedulerEvent))
        assert stored.result["action"] == "ignored"
    booked_remote = fhir_server.search(
        "Appointment", status="booked", identifier=f"{TEST_IDENTITY.inquiry_system}|{first.inquiry_id}"
    )
    assert len(booked_remote) == (1 if server_status == "booked" else 0)  # never a second one


def test_an_inquiry_whose_patient_has_two_records_on_the_ehr_is_held_for_staff(fhir_app, fhir_server, service_types):
    fhir_server.seed_slots(service_types["consult"], soon(2))
    patient = {"first_name": "Marta", "last_name": f"Twin{uuid.uuid4().hex[:8]}", "email": "marta@example.org"}
    for _ in range(2):
        fhir_server.create(
            {
                "resourceType": "Patient",
                "name": [{"family": patient["last_name"], "given": ["Marta"]}],
                "birthDate": "1990-01-02",
                "telecom": [{"system": "email", "value": "marta@example.org"}],
            }
        )

    body = (
        fhir_app.test_client()
        .post("/v1/inquiries", json={**inquiry(), "patient": {**patient, "date_of_birth": "1990-01-02"}})
        .get_json()
    )

    assert body["status"] == "needs_review", body
    assert body["appointment"] is None
    with fhir_app.extensions["routing"].db.session() as session:
        stored = session.get(Inquiry, uuid.UUID(body["id"]))
        assert stored.status_detail == (
            "held for staff: 2 patient records share this name, birth date and contact in the scheduling system; "
            "choose the patient's record, then book"
        )
        assert session.scalar(select(func.count()).select_from(Appointment)) == 0
    assert (
        fhir_server.search("Slot", **{"service-type": f"{service_types['consult'][0]}|consult", "status": "busy"}) == []
    )


def test_a_staff_override_when_the_ehr_has_two_records_for_the_patient_is_refused_and_changes_nothing(
    fhir_app, fhir_server, service_types
):
    fhir_server.seed_slots(service_types["consult"], soon(2))
    fhir_server.seed_slots(service_types["imaging"], soon(2), minutes=60)
    family = f"Late{uuid.uuid4().hex[:8]}"
    patient = {"first_name": "Rosa", "last_name": family, "email": "rosa@example.org", "date_of_birth": "1966-03-04"}
    client = fhir_app.test_client()
    booked = client.post("/v1/inquiries", json={**inquiry(), "patient": patient}).get_json()
    assert booked["status"] == "booked", booked
    # Meanwhile the front desk registers the same patient again in the EHR.
    fhir_server.create(
        {
            "resourceType": "Patient",
            "name": [{"family": family, "given": ["Rosa"]}],
            "birthDate": "1966-03-04",
            "telecom": [{"system": "email", "value": "rosa@example.org"}],
        }
    )
    token = make_token(fhir_app, "Sam Staff", "staff")
    url = f"/v1/admin/inquiries/{booked['id']}"
    etag = client.get(url, headers=bearer(token)).headers["ETag"]

    response = client.post(
        f"{url}/override", json={"route": "imaging", "reason": "MRI first"}, headers={**bearer(token), "If-Match": etag}
    )

    assert response.status_code == 409
    assert response.get_json()["detail"] == (
        "The scheduling system cannot tell which record is this patient's (2 patient records share this name, "
        "birth date and contact); settle it in the EHR, then book again. The current appointment stands."
    )
    with fhir_app.extensions["routing"].db.session() as session:
        assert [a.status for a in session.scalars(select(Appointment))] == ["booked"]
