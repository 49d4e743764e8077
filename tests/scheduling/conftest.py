"""A real FHIR R4 server on loopback for the FHIR scheduler tests, and helpers to fill it.

The server is ``tests/fhir_server/server.mjs`` (Medplum's FHIR router over its in-memory repository),
started once per test session on a port the OS picks. Its npm packages are installed on first use
(``npm ci``, from the committed lock file). Without ``node`` the tests skip, except under ``CI=true``,
where they fail: CI must run them.

The server is shared, so each test isolates itself with its own service-type system (``service_types``):
searches and bookings then never see another test's slots.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from routing.adapters.scheduling.fhir import FhirScheduler
from routing.adapters.scheduling.fhir_http import FhirHttp
from routing.adapters.scheduling.fhir_locations import SitesProvider
from routing.adapters.scheduling.fhir_resources import FhirIdentity
from routing.domain.terminology import SLOT_TYPES, default_terminology
from tests.scheduling.conformance_server import TEST_IDENTIFIER_BASE, ConformanceServer, running_conformance_server

SERVER_DIR = Path(__file__).resolve().parents[1] / "fhir_server"
# npm writes this hidden lock file last, so its presence means a complete install.
INSTALLED_MARKER = SERVER_DIR / "node_modules" / ".package-lock.json"
#: Our identifier systems in the tests: https, under a base the "clinic" owns, as in production.
TEST_IDENTITY = FhirIdentity(TEST_IDENTIFIER_BASE)
START_TIMEOUT = 30.0


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _node_or_skip() -> str:
    """The node executable; skips when it is missing, except in CI, where a skip would hide the tests."""
    node = shutil.which("node")
    if node:
        return node
    reason = (
        "node (Node.js >= 20.19) not found: the FHIR scheduler tests run a FHIR server from tests/fhir_server "
        "(install Debian's nodejs and npm, or run scripts/test.sh as root)"
    )
    if _in_ci():
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)
    return ""  # not reached: skip raises


def _install_npm_packages() -> None:
    """``npm ci`` in tests/fhir_server unless node_modules is already complete."""
    if INSTALLED_MARKER.is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("node is installed but npm is not: install npm to set up tests/fhir_server")
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=SERVER_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"npm ci in {SERVER_DIR} failed ({result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}")


def _first_line(stream: Any, timeout: float) -> str:
    """The first line the server prints, read in a thread so a silent server cannot hang the session."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


def _wait_until_answers(base_url: str, deadline: float) -> None:
    while True:
        try:
            if requests.get(f"{base_url}Slot", params={"_count": "1"}, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the test FHIR server at {base_url} does not answer")
        time.sleep(0.1)


@contextmanager
def running_fhir_server(node: str) -> Iterator[str]:
    """Start tests/fhir_server on a free loopback port; yield its base URL; always stop it."""
    with tempfile.TemporaryFile(mode="w+") as stderr:
        # --port 0: the server binds a port the OS picks and prints it, so no pick-then-bind race.
        process = subprocess.Popen(
            [node, "server.mjs", "--port", "0"],
            cwd=SERVER_DIR,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            line = _first_line(process.stdout, START_TIMEOUT)
            if not line.startswith("listening "):
                stderr.seek(0)
                pytest.fail(f"the test FHIR server did not start (exit {process.poll()}):\n{stderr.read()[-3000:]}")
            base_url = line.split(" ", 1)[1].strip()
            _wait_until_answers(base_url, time.monotonic() + START_TIMEOUT)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()


@pytest.fixture(scope="session")
def fhir_base_url() -> Iterator[str]:
    """Base URL (ending in ``/``) of a FHIR R4 server that lives for the whole test session."""
    node = _node_or_skip()
    _install_npm_packages()
    with running_fhir_server(node) as base_url:
        yield base_url


class FhirTestServer:
    """Direct access to the test server, independent of the adapter under test: seed data, inspect it."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self._session = requests.Session()
        self._session.headers["Accept"] = "application/fhir+json"

    def get(self, path: str, **params: str) -> dict[str, Any]:
        """GET ``path`` (e.g. "Slot/1", "Appointment") and return the JSON body; fails on a non-200."""
        response = self._session.get(self.base_url + path, params=params, timeout=10)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def search(self, resource_type: str, **params: str) -> list[dict[str, Any]]:
        """The resources a search finds."""
        return [entry["resource"] for entry in self.get(resource_type, **params).get("entry", [])]

    def create(self, resource: dict[str, Any]) -> dict[str, Any]:
        """POST a resource; the stored resource."""
        response = self._session.post(self.base_url + resource["resourceType"], json=resource, timeout=10)
        assert response.status_code == 201, (response.status_code, response.text)
        return response.json()

    def update(self, resource: dict[str, Any]) -> dict[str, Any]:
        """PUT a resource (unversioned: the test plays the clinic's staff editing it)."""
        url = f"{self.base_url}{resource['resourceType']}/{resource['id']}"
        response = self._session.put(url, json=resource, timeout=10)
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json()

    def seed_slots(
        self,
        service_type: tuple[str, str],
        starts: Sequence[datetime],
        *,
        minutes: int = 30,
        status: str = "free",
        actors: Sequence[str] = (),
    ) -> list[str]:
        """One Schedule (for ``actors``, references such as "Practitioner/1"; else a display-only clinic) with a
        Slot of ``service_type`` at each start; the slots' ``Slot/<id>`` references."""
        system, code = service_type
        service = [{"coding": [{"system": system, "code": code}]}]
        actor = [{"reference": reference} for reference in actors] or [{"display": "Clinic"}]
        schedule = self.create({"resourceType": "Schedule", "active": True, "serviceType": service, "actor": actor})
        references = []
        for start in starts:
            slot = self.create(
                {
                    "resourceType": "Slot",
                    "schedule": {"reference": f"Schedule/{schedule['id']}"},
                    "serviceType": service,
                    "status": status,
                    "start": start.isoformat(),
                    "end": (start + timedelta(minutes=minutes)).isoformat(),
                }
            )
            references.append(f"Slot/{slot['id']}")
        return references

    def close(self) -> None:
        self._session.close()


@pytest.fixture(scope="session")
def fhir_server(fhir_base_url) -> Iterator[FhirTestServer]:
    """The shared test FHIR server, for seeding and inspecting resources directly."""
    server = FhirTestServer(fhir_base_url)
    yield server
    server.close()


#: What the adapter writes, checked after every test that used the FHIR server.
_WRITTEN_TYPES = ("Appointment", "ServiceRequest", "Patient", "Slot")


@pytest.fixture(autouse=True)
def written_resources_are_valid_r4(request) -> Iterator[None]:
    """After a test that used the FHIR server, every resource written meanwhile must be valid FHIR R4.

    The server (Medplum) checks much on write, not everything R4 says; fhir.resources (R4 4.0.1 models)
    checks the structure: elements, cardinalities, types. A bad resource fails the test that wrote it.
    """
    if "fhir_server" not in request.fixturenames and "fhir_app" not in request.fixturenames:
        yield
        return
    server: FhirTestServer = request.getfixturevalue("fhir_server")
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    yield
    from fhir.resources import get_fhir_model_class  # imported late: only FHIR tests need it

    invalid = []
    for resource_type in _WRITTEN_TYPES:
        for resource in server.search(resource_type, _lastUpdated=f"ge{since}", _count="1000"):
            try:
                get_fhir_model_class(resource_type).parse_obj(resource)
            except ValueError as error:  # pydantic's ValidationError is a ValueError
                invalid.append(f"{resource_type}/{resource.get('id')}: {error}")
    assert invalid == []


@pytest.fixture
def service_types() -> dict[str, tuple[str, str]]:
    """Slot types mapped to a service-type system of this test's own, so tests never see each other's slots."""
    system = f"urn:test:service-type:{uuid.uuid4().hex}"
    return {slot_type: (system, slot_type) for slot_type in SLOT_TYPES}


@pytest.fixture
def make_scheduler(fhir_base_url, service_types) -> Iterator[Callable[..., FhirScheduler]]:
    """Build FhirSchedulers on the test server, each with its own HTTP client (closed after the test)."""
    clients: list[FhirHttp] = []

    def make(
        base_url: str = fhir_base_url,
        identity: FhirIdentity = TEST_IDENTITY,
        sites: SitesProvider | None = None,
        **http_options: Any,
    ) -> FhirScheduler:
        http = FhirHttp(base_url, **{"read_timeout": 5.0, "retries": 1, "backoff_factor": 0.0, **http_options})
        clients.append(http)
        return FhirScheduler(http, default_terminology().with_service_types(service_types), identity, sites=sites)

    yield make
    for http in clients:
        http.close()


@pytest.fixture
def scheduler(make_scheduler) -> FhirScheduler:
    """A FhirScheduler on the test server."""
    return make_scheduler()


@pytest.fixture
def make_conformance_server() -> Iterator[Callable[..., ConformanceServer]]:
    """Start conformance servers (tests/scheduling/conformance_server.py) for this test; stopped after it.

    Every resource the scheduler sent must have been valid R4 (the server refuses and records any other).
    """
    servers: list[ConformanceServer] = []
    with ExitStack() as stack:

        def make(mode: str, **options: Any) -> ConformanceServer:
            server = stack.enter_context(running_conformance_server(ConformanceServer(mode, **options)))
            servers.append(server)
            return server

        yield make
    assert [problem for server in servers for problem in server.invalid] == []


@pytest.fixture
def scheduler_for(service_types) -> Iterator[Callable[..., FhirScheduler]]:
    """Build FhirSchedulers on any FHIR server by base URL (``strategy`` as FhirScheduler takes it)."""
    clients: list[FhirHttp] = []

    def make(
        base_url: str,
        *,
        strategy: str = "auto",
        appointment_status: str = "booked",
        identity: FhirIdentity = TEST_IDENTITY,
        sites: SitesProvider | None = None,
        **http_options: Any,
    ) -> FhirScheduler:
        http = FhirHttp(base_url, **{"read_timeout": 5.0, "retries": 1, "backoff_factor": 0.0, **http_options})
        clients.append(http)
        codes = default_terminology().with_service_types(service_types)
        return FhirScheduler(
            http, codes, identity, strategy=strategy, appointment_status=appointment_status, sites=sites
        )

    yield make
    for http in clients:
        http.close()
