"""Service settings, read once from environment variables and validated at start.

A bad value raises :class:`ConfigError` from :func:`load_settings`, so the process refuses to start
with a message naming the variable, instead of failing at the first request.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from routing.adapters.scheduling.fhir_capabilities import CHOICES as BOOKING_STRATEGIES
from routing.adapters.scheduling.fhir_capabilities import CREATE_STATUSES as APPOINTMENT_STATUSES
from routing.domain.clinic import DEMO_CLINIC, ClinicProfile
from routing.domain.locations import DEFAULT_TRAVEL_RADIUS_KM
from routing.domain.phone_numbers import dialable
from routing.domain.postal_codes import DEFAULT_POSTAL_CODES_PATH
from routing.domain.retention import TextRetention
from routing.domain.terminology import DEFAULT_TERMINOLOGY_PATH, SLOT_TYPES
from routing.domain.triage.rulebook import DEFAULT_RULEBOOK_PATH
from routing.domain.waitlist_matching import WaitlistPolicy

#: Where the default SQLite database lives, relative to the repository root.
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
DEFAULT_DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'routing.sqlite3'}"

SCHEDULERS = ("embedded", "fhir")
#: Where our FHIR identifier systems live when neither FHIR_IDENTIFIER_BASE nor an https clinic website is set.
DEFAULT_IDENTIFIER_BASE = "https://clinic.example.org/fhir/identifier"
# Who may be named as the requester of an order (ServiceRequest.requester).
_REQUESTER = re.compile(r"(Practitioner|PractitionerRole|Organization)/[A-Za-z0-9\-.]{1,64}")
#: How the service authenticates to the FHIR server (FHIR_AUTH).
FHIR_AUTH_MODES = ("none", "static", "smart")
SMART_ALGORITHMS = ("RS384", "ES384")
SMART_REQUIRED = ("FHIR_SMART_CLIENT_ID", "FHIR_SMART_PRIVATE_KEY", "FHIR_SMART_KEY_ID")
SMART_SETTINGS = (*SMART_REQUIRED, "FHIR_SMART_ALGORITHM", "FHIR_SMART_SCOPES", "FHIR_SMART_TOKEN_URL")
#: SMART v2 system scopes for what the FHIR scheduler does: search and update Slots (marking them busy),
#: create, read, update and search Appointments and ServiceRequests, and find or create the Patient.
DEFAULT_SMART_SCOPES = (
    "system/Slot.rus system/Schedule.rs system/Appointment.cruds system/ServiceRequest.crus system/Patient.crs"
)
# RFC 6749 section 3.3: a scope is space-separated tokens of these characters.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SUPPORTED_DATABASES = ("sqlite", "postgresql")
#: The clinic profile's settings: all three required ones set, or none (the demo clinic).
CLINIC_REQUIRED = ("ROUTING_CLINIC_NAME", "ROUTING_CLINIC_PHONE", "ROUTING_CLINIC_ADDRESS")
# A bearer token as RFC 6750 writes one (b64token), long enough to be a secret.
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]{32,512}=*")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class SmartSettings:
    """SMART Backend Services client credentials for the FHIR server (``FHIR_AUTH=smart``)."""

    client_id: str
    #: The loaded private key (never printed: see ``repr=False``).
    private_key: Any = field(repr=False)
    key_id: str
    algorithm: str
    scopes: str
    #: None: discovered from the FHIR server's ``.well-known/smart-configuration``.
    token_url: str | None = None


@dataclass(frozen=True)
class FhirSettings:
    """How to reach a FHIR R4 scheduling system (``ROUTING_SCHEDULER=fhir``)."""

    base_url: str
    token: str | None = field(repr=False)
    #: Slot type -> (system, code) from FHIR_SERVICE_TYPES, replacing the terminology file's; None: the file's.
    service_types: dict[str, tuple[str, str]] | None = None
    #: Our identifier systems (booking, inquiry, patient) are ``<identifier_base>/<name>``: https, the clinic's.
    identifier_base: str = DEFAULT_IDENTIFIER_BASE
    #: ServiceRequest.requester: a reference (``Practitioner/7``, ``Organization/3``...) and its display.
    requester: str | None = None
    requester_display: str | None = None
    #: ``none``, ``static`` (``token``) or ``smart`` (``smart``).
    auth: str = "none"
    smart: SmartSettings | None = None
    #: How slots are reserved (FHIR_BOOKING_STRATEGY): auto (from the server's CapabilityStatement),
    #: operations, appointment or slot-update; see routing/adapters/scheduling/fhir_strategies.py.
    booking_strategy: str = "auto"
    #: The status the appointment strategy creates with (FHIR_APPOINTMENT_STATUS): booked or proposed.
    appointment_status: str = "booked"
    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    retries: int = 3
    breaker_failures: int = 5
    breaker_reset_seconds: float = 30.0


@dataclass(frozen=True)
class FormSettings:
    """The patient form served at ``GET /form`` (``ROUTING_FORM*``)."""

    #: Whether ``GET /form`` is served and its form tokens accepted at the intake.
    enabled: bool = True
    #: Origins whose pages may show the form (and its answer pages) in an iframe (CSP ``frame-ancestors``).
    embed_origins: tuple[str, ...] = ()
    #: Where a browser is sent (303) after a routine inquiry, ``{lang}`` filled in; None: our own answer page.
    thanks_url: str | None = None
    #: A post sooner than this after the form was served is taken for a bot's.
    min_fill_seconds: float = 3.0
    #: How long a served form's token is accepted.
    token_max_age_hours: float = 24.0


#: How the SMTP connection is protected: STARTTLS on a plain port, TLS from the first byte, or nothing
#: (only for a relay on this machine, e.g. tests or a local MTA).
SMTP_SECURITY = ("starttls", "tls", "none")
SMTP_DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
#: The SMTP settings besides the host: any of them set without ROUTING_SMTP_HOST is a mistake worth naming.
SMTP_SETTINGS = (
    "ROUTING_SMTP_PORT",
    "ROUTING_SMTP_SECURITY",
    "ROUTING_SMTP_USER",
    "ROUTING_SMTP_PASSWORD",
    "ROUTING_SMTP_FROM",
    "ROUTING_SMTP_TIMEOUT",
    "ROUTING_SMTP_CA_FILE",
)
SMS_REQUIRED = ("ROUTING_SMS_ACCOUNT_SID", "ROUTING_SMS_AUTH_TOKEN", "ROUTING_SMS_FROM")
SMS_SETTINGS = (*SMS_REQUIRED, "ROUTING_SMS_BASE_URL", "ROUTING_SMS_COUNTRY_CODE", "ROUTING_SMS_TIMEOUT")
#: Twilio's REST API; any provider with the same Messages shape can be named by ROUTING_SMS_BASE_URL.
DEFAULT_SMS_BASE_URL = "https://api.twilio.com"
_EMAIL_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
#: A Twilio Messaging Service SID: sent as MessagingServiceSid instead of From.
_MESSAGING_SERVICE = re.compile(r"MG[0-9a-fA-F]{32}")


@dataclass(frozen=True)
class SmtpSettings:
    """How patient emails leave (``ROUTING_SMTP_*``); email is off without ``ROUTING_SMTP_HOST``."""

    host: str
    port: int
    #: starttls, tls or none (see SMTP_SECURITY).
    security: str
    #: The From address, optionally with a display name ("Clinic <appointments@clinic.org>").
    sender: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    #: A CA bundle to trust for the server's certificate besides the system's (a private CA).
    ca_file: Path | None = None


@dataclass(frozen=True)
class SmsSettings:
    """How patient text messages leave (``ROUTING_SMS_*``): a Twilio-shaped Messages API."""

    account_sid: str
    auth_token: str = field(repr=False)
    #: An E.164 number (From) or a Messaging Service SID (MessagingServiceSid).
    sender: str
    base_url: str = DEFAULT_SMS_BASE_URL
    #: The country code of numbers patients write without one (``212 555 0100`` -> +1 212 555 0100).
    country_code: str = "1"
    timeout: float = 10.0


@dataclass(frozen=True)
class OutboxSettings:
    """How the worker delivers the outbox's events (``ROUTING_OUTBOX_*``, ``ROUTING_WEBHOOK_*_TIMEOUT``)."""

    #: How often an idle worker looks for new events and due deliveries.
    poll_seconds: float = 1.0
    #: How long a worker holds a delivery; after it, another worker sends it again (longer than a send).
    lease_seconds: float = 60.0
    #: Retries back off exponentially for this long, then the delivery is dead-lettered (24 at least).
    retry_hours: float = 24.0
    #: Threads sending webhooks (and email, SMS) per worker process; alerts have two of their own.
    senders: int = 4
    connect_timeout: float = 3.05
    read_timeout: float = 10.0


@dataclass(frozen=True)
class AlertSettings:
    """Where emergencies and urgent reviews are told to on-call staff (``ROUTING_ALERT_*``)."""

    #: On-call chat or paging tools' incoming webhooks; none: no alerts.
    webhook_urls: tuple[str, ...] = ()
    #: Signs every alert (Standard Webhooks ``whsec_...``); required with webhook_urls.
    webhook_secret: str | None = field(default=None, repr=False)
    #: An alert nobody acknowledged is sent again this often.
    repeat_minutes: float = 5.0
    #: The console's address as staff open it, for the link in alerts (e.g. https://routing.example.org/console).
    console_url: str | None = None


@dataclass(frozen=True)
class Settings:
    """Validated settings. Build with :func:`load_settings`, not directly."""

    database_url: URL
    webhook_secrets: tuple[bytes, ...]
    scheduler: str
    log_level: str
    timezone: ZoneInfo
    #: The rulebook used until the database's active version has been read (and validated at start).
    rulebook_path: Path = DEFAULT_RULEBOOK_PATH
    #: How often a process asks the database which rulebook version is active (an activation's delay, at most).
    rulebook_check_seconds: float = 2.0
    #: The codes written on orders and appointments (``ROUTING_TERMINOLOGY_FILE``).
    terminology_path: Path = DEFAULT_TERMINOLOGY_PATH
    #: The reader's lexicon folder (one TOML file per language); None: the shipped lexicons.
    lexicon_dir: Path | None = None
    testing: bool = False
    #: Secrets for POST /v1/scheduling/events; defaults to the intake webhook's.
    scheduler_event_secrets: tuple[bytes, ...] = ()
    #: Bearer tokens a FHIR server's subscriptions send to POST /v1/scheduling/fhir-notifications (several
    #: while one is rotated); none: that endpoint refuses every notification.
    fhir_notification_tokens: tuple[str, ...] = ()
    #: How often the booking worker asks a remote scheduling system for changes to our appointments.
    reconcile_seconds: float = 120.0
    fhir: FhirSettings | None = None
    booking_max_attempts: int = 5
    booking_lease_seconds: float = 50.0
    booking_retry_seconds: float = 30.0
    rate_limit_intake: str = "300/minute"
    rate_limit_dry_run: str = "60/minute"
    #: Requests per client address to the patients' own pages (``/my/...``).
    rate_limit_patient_link: str = "30/minute"
    rate_limit_storage: str = "memory://"
    rate_limits_enabled: bool = True
    #: Origins (scheme://host[:port]) whose web pages may post to the intake webhook from a browser.
    cors_origins: tuple[str, ...] = ()
    #: Reverse proxies in front of the service whose X-Forwarded-For is trusted (for client addresses).
    trusted_proxies: int = 0
    #: Signs the staff console's session cookie; without it a random key is made per process.
    secret_key: str | None = None
    #: Send the console cookie over HTTPS only (turn off only for a plain-HTTP development machine).
    cookie_secure: bool = True
    #: A console session ends after this many minutes without a request.
    console_idle_minutes: int = 30
    #: A console session ends this many hours after sign-in, however active.
    console_max_hours: int = 12
    #: The clinic named in every patient message (``ROUTING_CLINIC_*``); the demo clinic until they are set.
    clinic: ClinicProfile = DEMO_CLINIC
    #: The patient form (``ROUTING_FORM*``).
    form: FormSettings = FormSettings()
    #: How many days a patient's own link (``/my/<token>``) works after it is made; it also stops a day after the
    #: appointment and when the inquiry is closed (routing/services/patient_link.py).
    patient_link_days: float = 30.0
    #: Form builders' webhooks by form name (``POST /v1/forms/<name>``), from ROUTING_FORM_MAPPINGS' files.
    form_mappings: Mapping[str, Any] = field(default_factory=dict)
    #: Where patients reach this service (links in messages, the SMS webhook's signed URL); ROUTING_PUBLIC_URL.
    public_url: str | None = None
    #: Patient emails (None: off).
    email: SmtpSettings | None = None
    #: Patient text messages (None: off).
    sms: SmsSettings | None = None
    #: Delivering the outbox (webhooks, alerts).
    outbox: OutboxSettings = OutboxSettings()
    #: On-call alerts for emergencies and urgent reviews.
    alerts: AlertSettings = AlertSettings()
    #: How the waitlist offers freed slots (``ROUTING_WAITLIST*``).
    waitlist: WaitlistPolicy = field(default_factory=WaitlistPolicy)
    #: How often the worker runs the waitlist (offers, expiries, windows passed).
    waitlist_seconds: float = 30.0
    #: Processes a worker replays an impact preview on (``ROUTING_PREVIEW_PROCESSES``; 1: in the worker itself).
    preview_processes: int = 2
    #: The share of its time each of them works, sleeping the rest so intake keeps the CPU (``ROUTING_PREVIEW_DUTY``).
    preview_duty: float = 0.1
    #: Where postal codes are on the map (``ROUTING_POSTAL_CODES_FILE``), for the travel radius.
    postal_codes_path: Path = DEFAULT_POSTAL_CODES_PATH
    #: How far patients are booked from their postal code or chosen site before any site will do.
    travel_radius_km: float = DEFAULT_TRAVEL_RADIUS_KM
    #: How often a process reads the practice's sites again (a site added elsewhere is seen within this).
    locations_check_seconds: float = 5.0
    #: How long patients' free text is kept (``ROUTING_RETENTION_TEXT_DAYS``; off by default: kept for ever).
    retention: TextRetention = field(default_factory=TextRetention)

    @property
    def signatures_required(self) -> bool:
        """True when intake deliveries must carry a valid Standard Webhooks signature."""
        return bool(self.webhook_secrets)


def load_settings(overrides: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``environ`` (default ``os.environ``), with ``overrides`` taking precedence.

    Keys are the environment variable names (``DATABASE_URL``, ``ROUTING_WEBHOOK_SECRET``,
    ``ROUTING_SCHEDULER``, ``LOG_LEVEL``, ``ROUTING_TIMEZONE``, ``ROUTING_RULEBOOK`` and
    ``ROUTING_RULEBOOK_CHECK_SECONDS``, ``ROUTING_LEXICONS``,
    the ``FHIR_*``, ``ROUTING_BOOKING_*`` and ``ROUTING_CLINIC_*`` settings, ``ROUTING_SCHEDULER_EVENTS_SECRET``,
    ``ROUTING_FHIR_NOTIFICATION_TOKENS``, ``ROUTING_RECONCILE_SECONDS``, ``ROUTING_FORM_MAPPINGS`` (and the
    variables its files name for their secrets),
    the console's ``ROUTING_SECRET_KEY``, ``ROUTING_COOKIE_SECURE`` and ``ROUTING_CONSOLE_*`` timeouts, the
    patient form's ``ROUTING_FORM*``, the patient link's ``ROUTING_PATIENT_LINK_DAYS`` and
    ``ROUTING_RATE_LIMIT_PATIENT_LINK``, the patient notifications' ``ROUTING_PUBLIC_URL``, ``ROUTING_SMTP_*`` and
    ``ROUTING_SMS_*``, the waitlist's ``ROUTING_WAITLIST*``, the impact previews' ``ROUTING_PREVIEW_PROCESSES`` and
    ``ROUTING_PREVIEW_DUTY``, the text retention's ``ROUTING_RETENTION_TEXT_DAYS`` and ``ROUTING_RETENTION_BATCH``) plus
    ``TESTING``.
    """
    values: dict[str, object] = dict(os.environ if environ is None else environ)
    values.update(overrides or {})

    def text(name: str, default: str) -> str:
        raw = values.get(name)
        return default if raw is None or str(raw).strip() == "" else str(raw).strip()

    def number(name: str, default: float, minimum: float, kind: type = float) -> float:
        raw = text(name, str(default))
        try:
            value = kind(raw)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise ConfigError(f"{name}={raw!r} is not valid; use a {kind.__name__} of at least {minimum}.")
        return value

    webhook_secrets = text("ROUTING_WEBHOOK_SECRET", "")
    scheduler = _choice("ROUTING_SCHEDULER", text("ROUTING_SCHEDULER", "embedded").lower(), SCHEDULERS)
    fhir = None
    clinic = _clinic({name: text(name, "") for name in (*CLINIC_REQUIRED, "ROUTING_CLINIC_WEBSITE")})
    if scheduler == "fhir":
        service_types = text("FHIR_SERVICE_TYPES", "")
        fhir = FhirSettings(
            base_url=_fhir_base_url(text("FHIR_BASE_URL", "")),
            **_fhir_auth({name: text(name, "") for name in ("FHIR_AUTH", "FHIR_TOKEN", *SMART_SETTINGS)}),
            service_types=_service_types(service_types) if service_types else None,
            identifier_base=_identifier_base(text("FHIR_IDENTIFIER_BASE", ""), clinic),
            requester=_requester(text("FHIR_REQUESTER", "")),
            requester_display=text("FHIR_REQUESTER_DISPLAY", "") or None,
            booking_strategy=_choice(
                "FHIR_BOOKING_STRATEGY", text("FHIR_BOOKING_STRATEGY", "auto").lower(), BOOKING_STRATEGIES
            ),
            appointment_status=_choice(
                "FHIR_APPOINTMENT_STATUS", text("FHIR_APPOINTMENT_STATUS", "booked").lower(), APPOINTMENT_STATUSES
            ),
            connect_timeout=number("FHIR_CONNECT_TIMEOUT", 3.05, 0.01),
            read_timeout=number("FHIR_READ_TIMEOUT", 10.0, 0.01),
            retries=number("FHIR_RETRIES", 3, 0, int),
            breaker_failures=number("FHIR_BREAKER_FAILURES", 5, 1, int),
            breaker_reset_seconds=number("FHIR_BREAKER_RESET_SECONDS", 30.0, 0.01),
        )
    event_secrets = _webhook_secrets(text("ROUTING_SCHEDULER_EVENTS_SECRET", webhook_secrets))
    if scheduler == "fhir" and not event_secrets:
        # Unsigned, anyone who can reach the service could cancel appointments: with an EHR, refuse to start.
        raise ConfigError(
            "ROUTING_SCHEDULER=fhir needs ROUTING_SCHEDULER_EVENTS_SECRET (or ROUTING_WEBHOOK_SECRET): the "
            "scheduling system's events must be signed."
        )
    secret_key = _secret_key(text("ROUTING_SECRET_KEY", ""))
    public_url = _public_url(text("ROUTING_PUBLIC_URL", ""))
    email = _smtp({name: text(name, "") for name in ("ROUTING_SMTP_HOST", *SMTP_SETTINGS)})
    if email is not None and (public_url is None or secret_key is None):
        # Every email carries a signed unsubscribe link to this service: it needs where, and how to sign.
        unset = [
            name
            for name, value in (("ROUTING_PUBLIC_URL", public_url), ("ROUTING_SECRET_KEY", secret_key))
            if not value
        ]
        raise ConfigError(
            f"ROUTING_SMTP_HOST is set but {' and '.join(unset)} not: every patient email carries an unsubscribe "
            "link to this service at ROUTING_PUBLIC_URL (e.g. https://routing.example-clinic.org), signed with "
            "ROUTING_SECRET_KEY."
        )
    return Settings(
        database_url=_database_url(text("DATABASE_URL", DEFAULT_DATABASE_URL)),
        webhook_secrets=_webhook_secrets(webhook_secrets),
        scheduler=scheduler,
        fhir=fhir,
        scheduler_event_secrets=event_secrets,
        fhir_notification_tokens=_bearer_tokens(text("ROUTING_FHIR_NOTIFICATION_TOKENS", "")),
        reconcile_seconds=number("ROUTING_RECONCILE_SECONDS", 120.0, 1.0),
        booking_max_attempts=number("ROUTING_BOOKING_MAX_ATTEMPTS", 5, 1, int),
        booking_lease_seconds=number("ROUTING_BOOKING_LEASE_SECONDS", 50.0, 0.01),
        booking_retry_seconds=number("ROUTING_BOOKING_RETRY_SECONDS", 30.0, 0.0),
        rate_limit_intake=_rate_limit("ROUTING_RATE_LIMIT_INTAKE", text("ROUTING_RATE_LIMIT_INTAKE", "300/minute")),
        rate_limit_dry_run=_rate_limit("ROUTING_RATE_LIMIT_DRY_RUN", text("ROUTING_RATE_LIMIT_DRY_RUN", "60/minute")),
        rate_limit_patient_link=_rate_limit(
            "ROUTING_RATE_LIMIT_PATIENT_LINK", text("ROUTING_RATE_LIMIT_PATIENT_LINK", "30/minute")
        ),
        rate_limit_storage=text("ROUTING_RATE_LIMIT_STORAGE", "memory://"),
        rate_limits_enabled=text("ROUTING_RATE_LIMITS", "on").lower() not in ("off", "0", "false", "no"),
        cors_origins=_origins(text("ROUTING_CORS_ORIGINS", "")),
        trusted_proxies=number("ROUTING_TRUSTED_PROXIES", 0, 0, int),
        secret_key=secret_key,
        cookie_secure=text("ROUTING_COOKIE_SECURE", "on").lower() not in ("off", "0", "false", "no"),
        **_console_timeouts(
            number("ROUTING_CONSOLE_IDLE_MINUTES", 30, 1, int), number("ROUTING_CONSOLE_MAX_HOURS", 12, 1, int)
        ),
        log_level=_choice("LOG_LEVEL", text("LOG_LEVEL", "INFO").upper(), LOG_LEVELS),
        timezone=_timezone(text("ROUTING_TIMEZONE", "America/New_York")),
        rulebook_path=Path(text("ROUTING_RULEBOOK", str(DEFAULT_RULEBOOK_PATH))),
        rulebook_check_seconds=number("ROUTING_RULEBOOK_CHECK_SECONDS", 2.0, 0.1),
        terminology_path=Path(text("ROUTING_TERMINOLOGY_FILE", str(DEFAULT_TERMINOLOGY_PATH))),
        lexicon_dir=Path(folder) if (folder := text("ROUTING_LEXICONS", "")) else None,
        testing=bool(values.get("TESTING", False)),
        clinic=clinic,
        form=FormSettings(
            enabled=text("ROUTING_FORM", "on").lower() not in ("off", "0", "false", "no"),
            embed_origins=_embed_origins(text("ROUTING_FORM_EMBED_ORIGINS", "")),
            thanks_url=_thanks_url(text("ROUTING_FORM_THANKS_URL", "")),
            min_fill_seconds=number("ROUTING_FORM_MIN_SECONDS", 3.0, 0.0),
            token_max_age_hours=number("ROUTING_FORM_TOKEN_HOURS", 24.0, 0.1),
        ),
        form_mappings=_form_mappings(text("ROUTING_FORM_MAPPINGS", ""), values),
        patient_link_days=number("ROUTING_PATIENT_LINK_DAYS", 30.0, 0.01),
        public_url=public_url,
        email=email,
        sms=_sms({name: text(name, "") for name in SMS_SETTINGS}),
        outbox=_outbox(
            OutboxSettings(
                poll_seconds=number("ROUTING_OUTBOX_POLL_SECONDS", 1.0, 0.05),
                lease_seconds=number("ROUTING_OUTBOX_LEASE_SECONDS", 60.0, 1.0),
                retry_hours=number("ROUTING_OUTBOX_RETRY_HOURS", 24.0, 24.0),
                senders=number("ROUTING_OUTBOX_SENDERS", 4, 1, int),
                connect_timeout=number("ROUTING_WEBHOOK_CONNECT_TIMEOUT", 3.05, 0.01),
                read_timeout=number("ROUTING_WEBHOOK_READ_TIMEOUT", 10.0, 0.01),
            )
        ),
        alerts=_alerts(
            urls=text("ROUTING_ALERT_WEBHOOK_URLS", ""),
            secret=text("ROUTING_ALERT_WEBHOOK_SECRET", ""),
            repeat_minutes=number("ROUTING_ALERT_REPEAT_MINUTES", 5.0, 1.0),
            console_url=text("ROUTING_ALERT_CONSOLE_URL", ""),
        ),
        waitlist=WaitlistPolicy(
            enabled=text("ROUTING_WAITLIST", "on").lower() not in ("off", "0", "false", "no"),
            offer_time=timedelta(minutes=number("ROUTING_WAITLIST_OFFER_MINUTES", 120.0, 1.0)),
            short_offer_time=timedelta(minutes=number("ROUTING_WAITLIST_SHORT_OFFER_MINUTES", 30.0, 1.0)),
            notice=timedelta(minutes=number("ROUTING_WAITLIST_NOTICE_MINUTES", 120.0, 0.0)),
            book_urgent_directly=text("ROUTING_WAITLIST_BOOK_URGENT", "off").lower() in ("on", "1", "true", "yes"),
            max_unanswered=number("ROUTING_WAITLIST_MAX_UNANSWERED", 2, 1, int),
        ),
        waitlist_seconds=number("ROUTING_WAITLIST_SECONDS", 30.0, 1.0),
        preview_processes=number("ROUTING_PREVIEW_PROCESSES", os.cpu_count() or 1, 1, int),
        preview_duty=_share("ROUTING_PREVIEW_DUTY", number("ROUTING_PREVIEW_DUTY", 0.1, 0.05)),
        postal_codes_path=Path(text("ROUTING_POSTAL_CODES_FILE", str(DEFAULT_POSTAL_CODES_PATH))),
        travel_radius_km=number("ROUTING_TRAVEL_RADIUS_KM", DEFAULT_TRAVEL_RADIUS_KM, 0.0),
        locations_check_seconds=number("ROUTING_LOCATIONS_CHECK_SECONDS", 5.0, 0.1),
        retention=TextRetention(
            text_days=_retention_days(text("ROUTING_RETENTION_TEXT_DAYS", "off")),
            batch_size=number("ROUTING_RETENTION_BATCH", 200, 1, int),
        ),
    )


#: The shortest text retention: longer than the longest urgency window (21 days), so an inquiry's words are there
#: for staff through its booking, rebookings and waitlist, and a few weeks over for questions afterwards.
MIN_RETENTION_DAYS = 30


def _retention_days(raw: str) -> int | None:
    """ROUTING_RETENTION_TEXT_DAYS: ``off`` (the default: text kept for ever) or whole days, at least 30."""
    if raw.lower() in ("off", "0", "false", "no", "never"):
        return None
    try:
        days = int(raw)
    except ValueError:
        days = None
    if days is None or days < MIN_RETENTION_DAYS:
        raise ConfigError(
            f"ROUTING_RETENTION_TEXT_DAYS={raw!r} is not valid; use whole days, at least {MIN_RETENTION_DAYS} (after "
            "which patients' free text is removed), or 'off' to keep it (the default)."
        )
    return days


def _share(name: str, value: float) -> float:
    """A share of time: more than 0 (checked by the caller's minimum) and at most 1."""
    if value > 1:
        raise ConfigError(f"{name}={value} is not valid; use a share of the time between 0.05 and 1 (1: flat out).")
    return value


def _clinic(raw: Mapping[str, str]) -> ClinicProfile:
    """The clinic profile: the demo clinic when no ROUTING_CLINIC_* is set, else every required one, checked."""
    if not any(raw.values()):
        return DEMO_CLINIC
    missing = [name for name in CLINIC_REQUIRED if not raw[name]]
    if missing:
        # Half a profile would mix the clinic's real name with the demo's phone number in patient messages.
        raise ConfigError(
            f"{', '.join(missing)} not set: set {', '.join(CLINIC_REQUIRED)} together (ROUTING_CLINIC_WEBSITE "
            "is optional), or none of them for the demo clinic."
        )
    for name, longest in (("ROUTING_CLINIC_NAME", 100), ("ROUTING_CLINIC_ADDRESS", 200)):
        value = raw[name]
        if len(value) > longest or not value.isprintable():
            raise ConfigError(f"{name} must be one line of at most {longest} characters, as patients should read it.")
    phone = raw["ROUTING_CLINIC_PHONE"]
    if not dialable(phone):
        raise ConfigError(
            f"ROUTING_CLINIC_PHONE={phone!r} is not a phone number patients can dial; use digits with spaces, "
            "dashes, dots or parentheses, e.g. +1 (212) 555-0100 or 212-555-0100 ext. 12."
        )
    website = raw["ROUTING_CLINIC_WEBSITE"] or None
    if website is not None and (not re.fullmatch(r"https?://[^\s/]+\.[^\s/]+(?:/\S*)?", website)):
        raise ConfigError(
            f"ROUTING_CLINIC_WEBSITE={website!r} is not a web address; use e.g. https://www.example-clinic.org."
        )
    return ClinicProfile(raw["ROUTING_CLINIC_NAME"], phone, raw["ROUTING_CLINIC_ADDRESS"], website)


def _loopback(host: str) -> bool:
    """Whether ``host`` names this machine (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# scheme://host[:port][/path]: no query, fragment or credentials.
_BASE_URL = re.compile(r"(https?)://([^\s/?#:@]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?(/[^\s?#]*)?")


def _https_or_local(url: str) -> bool:
    """An https base address, or a plain http one on this machine (tests, a local relay)."""
    match = _BASE_URL.fullmatch(url)
    return match is not None and (match.group(1) == "https" or _loopback(match.group(2)))


def _public_url(raw: str) -> str | None:
    """ROUTING_PUBLIC_URL: https (http only on this machine), no query or fragment; kept without a trailing /."""
    if not raw:
        return None
    if not _https_or_local(raw):
        raise ConfigError(
            f"ROUTING_PUBLIC_URL={raw!r} is not the https address patients reach this service at; use e.g. "
            "https://routing.example-clinic.org (no query or fragment; plain http only for localhost)."
        )
    return raw.rstrip("/")


def _smtp(raw: Mapping[str, str]) -> SmtpSettings | None:
    """The ROUTING_SMTP_* settings: none set (email off), or a host and a From address at least, checked."""
    host = raw["ROUTING_SMTP_HOST"]
    if not host:
        stray = [name for name in SMTP_SETTINGS if raw[name]]
        if stray:
            raise ConfigError(f"{', '.join(stray)} set but ROUTING_SMTP_HOST not: set it to send patient emails.")
        return None
    if not re.fullmatch(r"[A-Za-z0-9.\-]+|\[?[0-9A-Fa-f:.]+\]?", host):
        raise ConfigError(f"ROUTING_SMTP_HOST={host!r} is not a host name or address, e.g. smtp.example-clinic.org.")
    security = _choice("ROUTING_SMTP_SECURITY", (raw["ROUTING_SMTP_SECURITY"] or "starttls").lower(), SMTP_SECURITY)
    if security == "none" and not _loopback(host):
        # Patient emails name appointments: they never cross a network unencrypted.
        raise ConfigError(
            f"ROUTING_SMTP_SECURITY=none is only for a mail relay on this machine (localhost), not {host!r}; "
            "use starttls (port 587) or tls (port 465)."
        )
    port_raw = raw["ROUTING_SMTP_PORT"] or str(SMTP_DEFAULT_PORTS[security])
    if not port_raw.isdigit() or not 1 <= int(port_raw) <= 65535:
        raise ConfigError(f"ROUTING_SMTP_PORT={port_raw!r} is not a port number (1 to 65535), e.g. 587.")
    user, password = raw["ROUTING_SMTP_USER"] or None, raw["ROUTING_SMTP_PASSWORD"] or None
    if (user is None) != (password is None):
        raise ConfigError(
            "ROUTING_SMTP_USER and ROUTING_SMTP_PASSWORD go together: set both to sign in to the mail server, "
            "or neither."
        )
    sender = raw["ROUTING_SMTP_FROM"]
    _, address = parseaddr(sender)
    if not sender or "\n" in sender or "\r" in sender or not _EMAIL_ADDRESS.fullmatch(address):
        raise ConfigError(
            f"ROUTING_SMTP_FROM={sender!r} is not an email address to send from; use e.g. "
            "appointments@example-clinic.org or 'Example Clinic <appointments@example-clinic.org>'."
        )
    timeout_raw = raw["ROUTING_SMTP_TIMEOUT"] or "10"
    try:
        timeout = float(timeout_raw)
    except ValueError:
        timeout = 0.0
    if not 0.1 <= timeout <= 300:
        raise ConfigError(f"ROUTING_SMTP_TIMEOUT={timeout_raw!r} is not valid; use seconds between 0.1 and 300.")
    ca_file = Path(raw["ROUTING_SMTP_CA_FILE"]) if raw["ROUTING_SMTP_CA_FILE"] else None
    if ca_file is not None and not ca_file.is_file():
        raise ConfigError(
            f"ROUTING_SMTP_CA_FILE={str(ca_file)!r} is not a file; give the PEM file of the CA that signed the mail "
            "server's certificate, or leave it unset to trust the system's CAs."
        )
    return SmtpSettings(host, int(port_raw), security, sender, user, password, timeout, ca_file)


def _sms(raw: Mapping[str, str]) -> SmsSettings | None:
    """The ROUTING_SMS_* settings: none set (SMS off), or the account, its token and the sender, checked."""
    if not any(raw.values()):
        return None
    missing = [name for name in SMS_REQUIRED if not raw[name]]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} not set: SMS needs {', '.join(SMS_REQUIRED)} (the provider account's SID, its auth "
            "token and the number or Messaging Service to send from), or none of the ROUTING_SMS_* settings."
        )
    sid, token, sender = raw["ROUTING_SMS_ACCOUNT_SID"], raw["ROUTING_SMS_AUTH_TOKEN"], raw["ROUTING_SMS_FROM"]
    if not re.fullmatch(r"[A-Za-z0-9\-]{8,64}", sid):
        # It goes into the request path: letters, digits and dashes only (Twilio's AC..., or a provider's UUID).
        raise ConfigError(f"ROUTING_SMS_ACCOUNT_SID={sid!r} is not an account SID, e.g. AC followed by 32 hex digits.")
    if len(token) < 16 or not token.isprintable() or any(char.isspace() for char in token):
        raise ConfigError("ROUTING_SMS_AUTH_TOKEN must be the account's auth token: at least 16 characters, no spaces.")
    if not (_E164.fullmatch(sender) or _MESSAGING_SERVICE.fullmatch(sender)):
        raise ConfigError(
            f"ROUTING_SMS_FROM={sender!r} must be the number to send from in E.164 form (+12125550100) or a "
            "Messaging Service SID (MG followed by 32 hex digits)."
        )
    base_url = (raw["ROUTING_SMS_BASE_URL"] or DEFAULT_SMS_BASE_URL).rstrip("/")
    if not _https_or_local(base_url):
        raise ConfigError(
            f"ROUTING_SMS_BASE_URL={base_url!r} must be the provider's https API address (default "
            f"{DEFAULT_SMS_BASE_URL}); plain http only for a test server on localhost."
        )
    country = (raw["ROUTING_SMS_COUNTRY_CODE"] or "1").lstrip("+")
    if not re.fullmatch(r"[1-9][0-9]{0,2}", country):
        raise ConfigError(f"ROUTING_SMS_COUNTRY_CODE={country!r} must be a country calling code, e.g. 1 or 34.")
    timeout_raw = raw["ROUTING_SMS_TIMEOUT"] or "10"
    try:
        timeout = float(timeout_raw)
    except ValueError:
        timeout = 0.0
    if not 0.1 <= timeout <= 300:
        raise ConfigError(f"ROUTING_SMS_TIMEOUT={timeout_raw!r} is not valid; use seconds between 0.1 and 300.")
    return SmsSettings(sid, token, sender, base_url, country, timeout)


def _form_mappings(folder: str, values: Mapping[str, object]) -> Mapping[str, Any]:
    """The form mappings in ``folder`` (ROUTING_FORM_MAPPINGS), checked, their secrets read from ``values``."""
    if not folder:
        return {}
    # Imported here: only a service taking form builders' webhooks reads mapping files.
    from routing.adapters.forms.mapping import MappingError, load_mappings

    environ = {name: str(value) for name, value in values.items() if value is not None}
    try:
        return load_mappings(Path(folder), environ)
    except MappingError as error:
        raise ConfigError(f"ROUTING_FORM_MAPPINGS: {error}") from None


def _outbox(settings: OutboxSettings) -> OutboxSettings:
    """The outbox settings, checked together: a lease must outlast a send, or a slow send is sent twice."""
    if settings.poll_seconds > 10:
        raise ConfigError(
            f"ROUTING_OUTBOX_POLL_SECONDS={settings.poll_seconds} is too slow for alerts (which must go out within "
            "10 seconds); use at most 10 (default 1)."
        )
    send = settings.connect_timeout + settings.read_timeout
    if settings.lease_seconds <= send:
        raise ConfigError(
            f"ROUTING_OUTBOX_LEASE_SECONDS={settings.lease_seconds} must be longer than a send can take "
            f"(ROUTING_WEBHOOK_CONNECT_TIMEOUT + ROUTING_WEBHOOK_READ_TIMEOUT = {send}), or a slow send is repeated."
        )
    return settings


def _alerts(*, urls: str, secret: str, repeat_minutes: float, console_url: str) -> AlertSettings:
    """ROUTING_ALERT_*: the on-call webhooks (each a URL events may go to), their secret, the console link."""
    from routing.domain.outbound_url import url_problem  # pure, small; only alerts and subscriptions need it

    webhook_urls = tuple(urls.split())
    for number, url in enumerate(webhook_urls, 1):
        if problem := url_problem(url):
            # Not the URL itself: a chat tool's incoming-webhook URL is a secret.
            raise ConfigError(f"ROUTING_ALERT_WEBHOOK_URLS, URL {number} of {len(webhook_urls)}: {problem}")
    if webhook_urls and not secret:
        raise ConfigError(
            "ROUTING_ALERT_WEBHOOK_URLS is set but ROUTING_ALERT_WEBHOOK_SECRET is not: alerts are signed. Set it to "
            "a Standard Webhooks secret, 'whsec_' followed by the output of "
            "python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())', "
            "and give it to the receiving tool."
        )
    if secret and not webhook_urls:
        raise ConfigError(
            "ROUTING_ALERT_WEBHOOK_SECRET is set but ROUTING_ALERT_WEBHOOK_URLS is not: set both, or neither."
        )
    if secret and not _is_webhook_secret(secret):
        raise ConfigError(
            "ROUTING_ALERT_WEBHOOK_SECRET must be one Standard Webhooks secret: 'whsec_' followed by base64."
        )
    if console_url and (url_problem(console_url) or "?" in console_url):
        raise ConfigError(
            f"ROUTING_ALERT_CONSOLE_URL={console_url!r} is not the console's address; use e.g. "
            "https://routing.example-clinic.org/console (https, no query)."
        )
    return AlertSettings(webhook_urls, secret or None, repeat_minutes, console_url or None)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not valid; use one of: {', '.join(allowed)}.")
    return value


def _database_url(raw: str) -> URL:
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(
            "DATABASE_URL is not a database URL; use e.g. sqlite:///instance/routing.sqlite3 "
            "or postgresql+psycopg://user:password@host:5432/routing."
        ) from None
    if url.get_backend_name() not in SUPPORTED_DATABASES:
        raise ConfigError(
            f"DATABASE_URL uses {url.get_backend_name()!r}; routing supports {' and '.join(SUPPORTED_DATABASES)}."
        )
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        # psycopg 3 is the driver we ship; plain "postgresql://" would make SQLAlchemy look for psycopg2.
        url = url.set(drivername="postgresql+psycopg")
    return url


def _secret_key(raw: str) -> str | None:
    if raw and len(raw) < 32:
        raise ConfigError(
            "ROUTING_SECRET_KEY must be at least 32 characters of random text, e.g. the output of "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'."
        )
    return raw or None


def _console_timeouts(idle_minutes: int, max_hours: int) -> dict[str, int]:
    if idle_minutes > max_hours * 60:
        raise ConfigError(
            f"ROUTING_CONSOLE_IDLE_MINUTES={idle_minutes} is longer than ROUTING_CONSOLE_MAX_HOURS={max_hours}; "
            "the idle timeout must fit inside the session's whole life."
        )
    return {"console_idle_minutes": idle_minutes, "console_max_hours": max_hours}


def _rate_limit(name: str, raw: str) -> str:
    from limits import parse_many  # the notation the rate limits read

    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a rate limit; use e.g. '300/minute' or '20/second;300/minute'."
        ) from None
    return raw


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(raw.split())
    for origin in origins:
        if not origin.startswith(("https://", "http://")) or origin.count("/") != 2:
            raise ConfigError(
                f"ROUTING_CORS_ORIGINS: {origin!r} is not an origin; list scheme://host[:port] values, "
                "space-separated, e.g. https://www.example-clinic.org."
            )
    return origins


# scheme://host[:port] and nothing else: these go into a Content-Security-Policy header, where a quote, a
# semicolon or a wildcard would mean something else.
_ORIGIN = re.compile(r"https?://(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(?::[0-9]{1,5})?")


def _embed_origins(raw: str) -> tuple[str, ...]:
    """ROUTING_FORM_EMBED_ORIGINS: exact origins, space-separated."""
    origins = tuple(raw.split())
    for origin in origins:
        if not _ORIGIN.fullmatch(origin):
            raise ConfigError(
                f"ROUTING_FORM_EMBED_ORIGINS: {origin!r} is not an origin; list the exact scheme://host[:port] of "
                "each site whose pages show the form in an iframe, space-separated, e.g. "
                "https://www.example-clinic.org https://example-clinic.org (no path, no wildcard)."
            )
    return origins


def _thanks_url(raw: str) -> str | None:
    """ROUTING_FORM_THANKS_URL: an http(s) page address, ``{lang}`` its only placeholder, no fragment."""
    if not raw:
        return None
    try:
        filled = raw.format(lang="en")
    except (KeyError, IndexError, ValueError):
        filled = None
    if filled is None or "#" in raw or not re.fullmatch(r"https?://[^\s/?#]+(?:[/?]\S*)?", raw):
        raise ConfigError(
            f"ROUTING_FORM_THANKS_URL={raw!r} is not a page address; use an http(s) URL without a #fragment, "
            "optionally with {lang} where the language (en or es) goes, e.g. https://www.example-clinic.org/{lang}/thanks."
        )
    return raw


def _fhir_base_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(
            "FHIR_BASE_URL must be the FHIR R4 server's base URL (http:// or https://) when "
            "ROUTING_SCHEDULER=fhir, e.g. https://scheduling.example.org/fhir."
        )
    return raw.rstrip("/") + "/"


def _identifier_base(raw: str, clinic: ClinicProfile) -> str:
    """FHIR_IDENTIFIER_BASE, else ``<clinic website>/fhir/identifier`` for an https website, else the demo's."""
    if not raw:
        website = (clinic.website or "").rstrip("/")
        return f"{website}/fhir/identifier" if website.startswith("https://") else DEFAULT_IDENTIFIER_BASE
    if not raw.startswith("https://") or any(char.isspace() for char in raw) or "?" in raw or "#" in raw:
        raise ConfigError(
            f"FHIR_IDENTIFIER_BASE={raw!r} must be an https URL the clinic owns, without query or fragment, "
            "e.g. https://www.example-clinic.org/fhir/identifier (our booking, inquiry and patient identifier "
            "systems are made under it)."
        )
    return raw.rstrip("/")


def _requester(raw: str) -> str | None:
    if raw and not _REQUESTER.fullmatch(raw):
        raise ConfigError(
            f"FHIR_REQUESTER={raw!r} must be a relative reference to who orders imaging and injections: "
            "Practitioner/<id>, PractitionerRole/<id> or Organization/<id>."
        )
    return raw or None


def _fhir_auth(raw: Mapping[str, str]) -> dict[str, Any]:
    """FhirSettings' ``auth``, ``token`` and ``smart``: FHIR_AUTH, or ``static`` when only FHIR_TOKEN is set."""
    token = raw["FHIR_TOKEN"] or None
    mode = _choice("FHIR_AUTH", raw["FHIR_AUTH"].lower() or ("static" if token else "none"), FHIR_AUTH_MODES)
    if mode == "static" and token is None:
        raise ConfigError("FHIR_AUTH=static needs FHIR_TOKEN, the bearer token to send to the FHIR server.")
    if mode != "static" and token is not None:
        # Two ways to authenticate set at once: say so rather than quietly drop one of them.
        raise ConfigError(f"FHIR_TOKEN is set but FHIR_AUTH={mode}; FHIR_TOKEN is only for FHIR_AUTH=static: unset it.")
    stray = [name for name in SMART_SETTINGS if raw[name]]
    if mode != "smart" and stray:
        raise ConfigError(
            f"{', '.join(stray)} set but FHIR_AUTH={mode}: set FHIR_AUTH=smart to use SMART Backend Services, "
            "or unset them."
        )
    return {"auth": mode, "token": token, "smart": _smart(raw) if mode == "smart" else None}


def _smart(raw: Mapping[str, str]) -> SmartSettings:
    """The FHIR_SMART_* settings, the private key loaded and checked against the algorithm."""
    missing = [name for name in SMART_REQUIRED if not raw[name]]
    if missing:
        raise ConfigError(
            f"FHIR_AUTH=smart needs {', '.join(missing)}: the client id the EHR registered for this service, "
            "the PEM private key whose public key the EHR holds (JWKS), and that key's kid."
        )
    for name in ("FHIR_SMART_CLIENT_ID", "FHIR_SMART_KEY_ID"):
        if not raw[name].isprintable() or any(char.isspace() for char in raw[name]):
            raise ConfigError(f"{name} must be one word of printable characters, as the EHR registered it.")
    algorithm = _choice("FHIR_SMART_ALGORITHM", raw["FHIR_SMART_ALGORITHM"].upper() or "RS384", SMART_ALGORITHMS)
    # Imported here: only a SMART set-up needs the crypto stack.
    from routing.adapters.scheduling.fhir_auth import load_signing_key

    # Environments that cannot hold line breaks get the PEM with "\n" written out.
    pem = raw["FHIR_SMART_PRIVATE_KEY"]
    if "\n" not in pem:
        pem = pem.replace("\\n", "\n")
    try:
        private_key = load_signing_key(pem, algorithm)
    except ValueError as error:
        # The message describes the key (kind, size, curve), never its contents.
        raise ConfigError(f"FHIR_SMART_PRIVATE_KEY {error} (FHIR_SMART_ALGORITHM={algorithm}).") from None
    scopes = raw["FHIR_SMART_SCOPES"].split() or DEFAULT_SMART_SCOPES.split()
    if not all(_SCOPE_TOKEN.fullmatch(scope) for scope in scopes):
        raise ConfigError(
            "FHIR_SMART_SCOPES must be space-separated OAuth scopes, e.g. "
            f"'{DEFAULT_SMART_SCOPES}'; one of them has a character scopes cannot hold."
        )
    token_url = raw["FHIR_SMART_TOKEN_URL"] or None
    if token_url is not None and not re.fullmatch(r"https?://[^\s/]+(?:/\S*)?", token_url):
        raise ConfigError(
            f"FHIR_SMART_TOKEN_URL={token_url!r} is not an http(s) URL; give the EHR's OAuth token endpoint, or "
            "leave it unset to read it from the FHIR server's .well-known/smart-configuration."
        )
    return SmartSettings(
        client_id=raw["FHIR_SMART_CLIENT_ID"],
        private_key=private_key,
        key_id=raw["FHIR_SMART_KEY_ID"],
        algorithm=algorithm,
        scopes=" ".join(scopes),
        token_url=token_url,
    )


def _service_types(raw: str) -> dict[str, tuple[str, str]]:
    mapping: dict[str, tuple[str, str]] = {}
    for item in raw.split(","):
        slot_type, _, coding = item.strip().partition("=")
        system, _, code = coding.rpartition("|")
        if slot_type not in SLOT_TYPES or not system or not code:
            raise ConfigError(
                "FHIR_SERVICE_TYPES must map each slot type to a FHIR coding, comma-separated: "
                "consult=<system>|<code>,imaging=<system>|<code>,injection=<system>|<code>."
            )
        mapping[slot_type] = (system, code)
    if set(mapping) != set(SLOT_TYPES):
        raise ConfigError(f"FHIR_SERVICE_TYPES must name every slot type: {', '.join(SLOT_TYPES)}.")
    return mapping


def _bearer_tokens(raw: str) -> tuple[str, ...]:
    """Comma-separated tokens (old and new both listed while one is rotated); the message never shows one."""
    tokens = tuple(item.strip() for item in raw.split(",") if item.strip())
    if raw.strip() and (not tokens or not all(_BEARER_TOKEN.fullmatch(token) for token in tokens)):
        raise ConfigError(
            "ROUTING_FHIR_NOTIFICATION_TOKENS must be comma-separated bearer tokens of at least 32 characters "
            "(letters, digits and -._~+/), e.g. the output of "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'."
        )
    return tokens


def _webhook_secrets(raw: str) -> tuple[bytes, ...]:
    secrets = []
    for item in raw.split():
        body = item.removeprefix("whsec_")
        try:
            decoded = base64.b64decode(body, validate=True)
        except ValueError:
            decoded = b""
        if not decoded:
            raise ConfigError(
                "ROUTING_WEBHOOK_SECRET must hold Standard Webhooks secrets ('whsec_' followed by base64), "
                "space-separated for rotation; one of them is not valid base64."
            )
        secrets.append(decoded)
    return tuple(secrets)


def _is_webhook_secret(raw: str) -> bool:
    try:
        return bool(base64.b64decode(raw.removeprefix("whsec_"), validate=True))
    except ValueError:
        return False


def _timezone(raw: str) -> ZoneInfo:
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"ROUTING_TIMEZONE={raw!r} is not a known IANA time zone; use e.g. America/New_York."
        ) from None


def configure_logging(level: str) -> None:
    """Send our logs to stderr as JSON lines at ``level``, unless the host process already set up handlers.

    The JSON formatter keeps patient data out of the log (see :mod:`routing.observability.json_logs`);
    libraries that would log SQL parameters or URLs are held at WARNING whatever ``level`` is.
    """
    # Imported here: config is read by code (migrations, CLI) that needs no logging set-up.
    from routing.observability import json_logs

    # Without a root handler, gunicorn would drop everything below WARNING.
    json_logs.install(level)
