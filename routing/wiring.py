"""The one place where settings become live objects (database, scheduler) for an application."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from routing.adapters.db import migrations
from routing.adapters.db.database import Database
from routing.adapters.db.types import utcnow
from routing.adapters.outbound_webhooks import WebhookSender
from routing.adapters.scheduling.embedded import EmbeddedScheduler
from routing.adapters.scheduling.interface import Scheduler
from routing.config import ConfigError, FhirSettings, Settings
from routing.domain.clinic import ClinicProfile
from routing.domain.locations import Coordinates
from routing.domain.postal_codes import PostalCodesError, load_postal_codes
from routing.domain.terminology import Terminology, TerminologyError, default_terminology, load_terminology
from routing.domain.time_preferences import TimeWords, TimeWordsError, load_time_words
from routing.domain.triage import Rulebook, RulebookError, language, load_rulebook
from routing.domain.triage.lexicon import LexiconError
from routing.domain.triage.reader import Reader, reader_for
from routing.domain.triage.rulebook import DEFAULT_RULEBOOK_PATH
from routing.services import alerts, reminders
from routing.services.location_directory import LocationDirectory
from routing.services.outbox import Channel, record_event
from routing.services.outbox_dispatch import OutboxPolicy, OutboxWorker, Periodic
from routing.services.patient_notifications import build_patient_channels
from routing.services.route_inquiry import QueuePolicy, Routing
from routing.services.rulebook_source import RulebookSource
from routing.services.webhook_channel import WebhookChannel

if TYPE_CHECKING:
    from requests.auth import AuthBase

log = logging.getLogger(__name__)


@dataclass
class Wiring:
    """Everything use cases need, built once per application."""

    settings: Settings
    db: Database
    head_revision: str | None
    #: The live rulebook: the database's active version, re-read within seconds of an activation.
    rulebooks: RulebookSource
    scheduler: Scheduler
    policy: QueuePolicy
    reader: Reader
    #: The words patients use for their preferred times, per language (routing/domain/time_words).
    time_words: tuple[TimeWords, ...] = ()
    #: The codes written on orders and appointments (ROUTING_TERMINOLOGY_FILE).
    terminology: Terminology = field(default_factory=default_terminology)
    #: The practice's active sites, re-read every few seconds (None: tools that build a Wiring without a database).
    locations: LocationDirectory | None = None
    #: Where postal codes are on the map (ROUTING_POSTAL_CODES_FILE).
    postal_codes: Mapping[str, Coordinates] = field(default_factory=dict)
    #: Where outbox events go (webhook subscriptions, on-call alerts; email and SMS plug in here).
    channels: tuple[Channel, ...] = ()
    #: How the outbox's deliveries are leased, retried and dead-lettered.
    outbox_policy: OutboxPolicy = field(default_factory=OutboxPolicy)

    def outbox_worker(self, clock: Callable[[], datetime] = utcnow) -> OutboxWorker:
        """The outbox's deliverer for a worker process (``flask worker`` runs it beside the booking queue)."""
        outbox = self.settings.outbox
        # The day-before reminders (appointment.reminder_due) are recorded every few minutes, for whichever
        # channel wants them (the patient's email or SMS, a webhook subscription).
        periodic = [
            Periodic(
                "reminders",
                reminders.DEFAULT_PERIOD,
                lambda session, now: reminders.due_reminders(session, now, record_event=record_event),
            )
        ]
        alert_channel = next((c for c in self.channels if isinstance(c, alerts.AlertChannel)), None)
        if alert_channel is not None and alert_channel.recipients:
            every = timedelta(minutes=self.settings.alerts.repeat_minutes)
            # Looked for a few times per repeat interval (at least every 15 s): a repeat is that late at most.
            look = min(every / 5, timedelta(seconds=15))
            periodic.append(
                Periodic("alert repeats", look, lambda session, now: alerts.schedule_repeats(session, now, every))
            )
        return OutboxWorker(
            self.db.session,
            self.channels,
            self.outbox_policy,
            poll=outbox.poll_seconds,
            senders=outbox.senders,
            periodic=periodic,
            clock=clock,
        )

    @property
    def rulebook(self) -> Rulebook:
        """The rulebook in force now (the active version, at most ``ROUTING_RULEBOOK_CHECK_SECONDS`` old)."""
        return self.rulebooks.current()

    @property
    def clinic(self) -> ClinicProfile:
        """The clinic named in patient messages (ROUTING_CLINIC_*)."""
        return self.settings.clinic

    @property
    def routing(self) -> Routing:
        """What routing an inquiry needs (read fresh, so tests may swap the scheduler); its rulebook is the live
        one, so a long-lived Routing (the booking worker's) follows activations too."""
        return Routing(
            self.rulebooks,
            self.scheduler,
            self.settings.timezone,
            self.policy,
            self.reader,
            clinic=self.settings.clinic,
            time_words=self.time_words,
            terminology=self.terminology,
            waitlist=self.settings.waitlist,
            locations=self.locations,
            postal_codes=self.postal_codes,
            travel_radius_km=self.settings.travel_radius_km,
        )


def wire(settings: Settings) -> Wiring:
    """Build the live objects for ``settings``; a rulebook file that does not validate stops the start.

    ``ROUTING_RULEBOOK``'s file is the rulebook used until the database's active version has been read (before
    the schema is migrated, or while the database cannot be reached); after that, the active version is in force.
    """
    try:
        rulebook = load_rulebook(settings.rulebook_path)
    except RulebookError as error:
        raise ConfigError(f"ROUTING_RULEBOOK: {error}") from None
    db = Database(settings.database_url)
    named = "ROUTING_RULEBOOK" if settings.rulebook_path != DEFAULT_RULEBOOK_PATH else None
    rulebooks = RulebookSource(db, rulebook, settings.rulebook_check_seconds, fallback_named=named)
    try:
        reader = reader_for(settings.lexicon_dir)
    except LexiconError as error:
        raise ConfigError(f"ROUTING_LEXICONS: {error}") from None
    try:
        terminology = load_terminology(settings.terminology_path)
    except TerminologyError as error:
        raise ConfigError(f"ROUTING_TERMINOLOGY_FILE: {error}") from None
    try:
        time_words = load_time_words()
    except TimeWordsError as error:
        raise ConfigError(f"time words: {error}") from None
    try:
        postal_codes = load_postal_codes(settings.postal_codes_path)
    except PostalCodesError as error:
        raise ConfigError(f"ROUTING_POSTAL_CODES_FILE: {error}") from None
    locations = LocationDirectory(
        db, settings.clinic, settings.timezone.key, check_every=settings.locations_check_seconds
    )
    if settings.clinic.demo and not settings.testing:
        log.warning("patient messages name the demo clinic: set ROUTING_CLINIC_NAME, _PHONE and _ADDRESS")
    language.load_model()
    return Wiring(
        settings=settings,
        db=db,
        head_revision=migrations.head_revision(),
        rulebooks=rulebooks,
        scheduler=build_scheduler(settings, terminology, locations),
        policy=QueuePolicy(
            max_attempts=settings.booking_max_attempts,
            lease=timedelta(seconds=settings.booking_lease_seconds),
            retry_base=timedelta(seconds=settings.booking_retry_seconds),
        ),
        reader=reader,
        time_words=time_words,
        terminology=terminology,
        locations=locations,
        postal_codes=postal_codes,
        channels=build_channels(settings, locations),
        outbox_policy=OutboxPolicy(
            lease=timedelta(seconds=settings.outbox.lease_seconds),
            give_up_after=timedelta(hours=settings.outbox.retry_hours),
        ),
    )


def build_channels(settings: Settings, locations: LocationDirectory | None = None) -> tuple[Channel, ...]:
    """The outbox's channels: webhook subscriptions always; on-call alerts when ROUTING_ALERT_WEBHOOK_URLS is set;
    the patient's email and SMS when ROUTING_SMTP_* and ROUTING_SMS_* are (naming each appointment's site)."""
    sender = WebhookSender(settings.outbox.connect_timeout, settings.outbox.read_timeout)
    channels: list[Channel] = [WebhookChannel(sender), *build_patient_channels(settings, locations=locations)]
    config = settings.alerts
    if config.webhook_urls:
        recipients = [alerts.WebhookRecipient(url, config.webhook_secret, sender) for url in config.webhook_urls]
        # The on-call email (patient-messages' SMTP channel) joins as another AlertRecipient here.
        channels.append(alerts.AlertChannel(recipients, config.console_url))
    return tuple(channels)


def build_scheduler(
    settings: Settings, terminology: Terminology | None = None, locations: LocationDirectory | None = None
) -> Scheduler:
    """The configured scheduling system: the embedded one, or a FHIR R4 server (writing ``terminology``'s
    codes, the shipped ones by default; placing its slots at the practice's sites by ``locations``' FHIR
    Locations, without it every slot at the default site)."""
    if settings.scheduler != "fhir" or settings.fhir is None:
        return EmbeddedScheduler()
    # Imported here so the embedded default does not load the HTTP stack.
    from routing.adapters.scheduling.fhir import FhirScheduler
    from routing.adapters.scheduling.fhir_http import FhirHttp
    from routing.adapters.scheduling.fhir_resources import FhirIdentity

    fhir = settings.fhir
    http = FhirHttp(
        fhir.base_url,
        token=fhir.token,
        auth=_smart_auth(fhir),
        connect_timeout=fhir.connect_timeout,
        read_timeout=fhir.read_timeout,
        retries=fhir.retries,
        breaker_fail_max=fhir.breaker_failures,
        breaker_reset_timeout=fhir.breaker_reset_seconds,
    )
    codes = terminology or default_terminology()
    if fhir.service_types is not None:
        codes = codes.with_service_types(fhir.service_types)
    identity = FhirIdentity(fhir.identifier_base, fhir.requester, fhir.requester_display)
    return FhirScheduler(
        http,
        codes,
        identity,
        strategy=fhir.booking_strategy,
        appointment_status=fhir.appointment_status,
        sites=locations.sites if locations is not None else None,
    )


def _smart_auth(fhir: FhirSettings) -> AuthBase | None:
    """The SMART Backend Services token hook for the FHIR client (FHIR_AUTH=smart), else None."""
    if fhir.smart is None:
        return None
    from routing.adapters.scheduling.fhir_auth import SmartBackendAuth

    smart = fhir.smart
    return SmartBackendAuth(
        fhir.base_url,
        client_id=smart.client_id,
        private_key=smart.private_key,
        key_id=smart.key_id,
        algorithm=smart.algorithm,
        scopes=smart.scopes,
        token_url=smart.token_url,
        connect_timeout=fhir.connect_timeout,
        read_timeout=fhir.read_timeout,
    )
