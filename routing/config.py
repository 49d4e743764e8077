"""Service settings, read once from environment variables and validated at start.

A bad value raises :class:`ConfigError` from :func:`load_settings`, so the process refuses to start
with a message naming the variable, instead of failing at the first request.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from routing.domain.clinic import DEMO_CLINIC, ClinicProfile
from routing.domain.triage.rulebook import DEFAULT_RULEBOOK_PATH

#: Where the default SQLite database lives, relative to the repository root.
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
DEFAULT_DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'routing.sqlite3'}"

SCHEDULERS = ("embedded", "fhir")
SLOT_TYPES = ("consult", "imaging", "injection")
#: FHIR Appointment.serviceType codes per slot type, unless FHIR_SERVICE_TYPES says otherwise.
DEFAULT_SERVICE_TYPES = (
    "consult=urn:routing:service-type|pain-consult,"
    "imaging=urn:routing:service-type|mri,"
    "injection=urn:routing:service-type|injection"
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SUPPORTED_DATABASES = ("sqlite", "postgresql")
#: The clinic profile's settings: all three required ones set, or none (the demo clinic).
CLINIC_REQUIRED = ("ROUTING_CLINIC_NAME", "ROUTING_CLINIC_PHONE", "ROUTING_CLINIC_ADDRESS")
# A bearer token as RFC 6750 writes one (b64token), long enough to be a secret.
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]{32,512}=*")
# A phone number as patients dial it: digits with the usual separators, 7 to 15 digits, an optional extension.
_CLINIC_PHONE = re.compile(r"\+?[\d\s().\-]{7,30}(?:\s*(?:ext\.?|x)\s*\d{1,6})?", re.IGNORECASE)


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class FhirSettings:
    """How to reach a FHIR R4 scheduling system (``ROUTING_SCHEDULER=fhir``)."""

    base_url: str
    token: str | None
    service_types: dict[str, tuple[str, str]]
    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    retries: int = 3
    breaker_failures: int = 5
    breaker_reset_seconds: float = 30.0


@dataclass(frozen=True)
class Settings:
    """Validated settings. Build with :func:`load_settings`, not directly."""

    database_url: URL
    webhook_secrets: tuple[bytes, ...]
    scheduler: str
    log_level: str
    timezone: ZoneInfo
    rulebook_path: Path = DEFAULT_RULEBOOK_PATH
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

    @property
    def signatures_required(self) -> bool:
        """True when intake deliveries must carry a valid Standard Webhooks signature."""
        return bool(self.webhook_secrets)


def load_settings(overrides: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``environ`` (default ``os.environ``), with ``overrides`` taking precedence.

    Keys are the environment variable names (``DATABASE_URL``, ``ROUTING_WEBHOOK_SECRET``,
    ``ROUTING_SCHEDULER``, ``LOG_LEVEL``, ``ROUTING_TIMEZONE``, ``ROUTING_RULEBOOK``, ``ROUTING_LEXICONS``,
    the ``FHIR_*``, ``ROUTING_BOOKING_*`` and ``ROUTING_CLINIC_*`` settings, ``ROUTING_SCHEDULER_EVENTS_SECRET``,
    ``ROUTING_FHIR_NOTIFICATION_TOKENS``, ``ROUTING_RECONCILE_SECONDS``,
    the console's ``ROUTING_SECRET_KEY``, ``ROUTING_COOKIE_SECURE`` and ``ROUTING_CONSOLE_*`` timeouts) plus
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
    if scheduler == "fhir":
        fhir = FhirSettings(
            base_url=_fhir_base_url(text("FHIR_BASE_URL", "")),
            token=text("FHIR_TOKEN", "") or None,
            service_types=_service_types(text("FHIR_SERVICE_TYPES", DEFAULT_SERVICE_TYPES)),
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
        rate_limit_storage=text("ROUTING_RATE_LIMIT_STORAGE", "memory://"),
        rate_limits_enabled=text("ROUTING_RATE_LIMITS", "on").lower() not in ("off", "0", "false", "no"),
        cors_origins=_origins(text("ROUTING_CORS_ORIGINS", "")),
        trusted_proxies=number("ROUTING_TRUSTED_PROXIES", 0, 0, int),
        secret_key=_secret_key(text("ROUTING_SECRET_KEY", "")),
        cookie_secure=text("ROUTING_COOKIE_SECURE", "on").lower() not in ("off", "0", "false", "no"),
        **_console_timeouts(
            number("ROUTING_CONSOLE_IDLE_MINUTES", 30, 1, int), number("ROUTING_CONSOLE_MAX_HOURS", 12, 1, int)
        ),
        log_level=_choice("LOG_LEVEL", text("LOG_LEVEL", "INFO").upper(), LOG_LEVELS),
        timezone=_timezone(text("ROUTING_TIMEZONE", "America/New_York")),
        rulebook_path=Path(text("ROUTING_RULEBOOK", str(DEFAULT_RULEBOOK_PATH))),
        lexicon_dir=Path(folder) if (folder := text("ROUTING_LEXICONS", "")) else None,
        testing=bool(values.get("TESTING", False)),
        clinic=_clinic({name: text(name, "") for name in (*CLINIC_REQUIRED, "ROUTING_CLINIC_WEBSITE")}),
    )


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
    digits = sum(char.isdigit() for char in re.split(r"(?i)ext|x", phone)[0])
    if not _CLINIC_PHONE.fullmatch(phone) or not 7 <= digits <= 15:
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


def _fhir_base_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(
            "FHIR_BASE_URL must be the FHIR R4 server's base URL (http:// or https://) when "
            "ROUTING_SCHEDULER=fhir, e.g. https://scheduling.example.org/fhir."
        )
    return raw.rstrip("/") + "/"


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
