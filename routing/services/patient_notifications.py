"""The outbox's patient channels: an email or a text message to the patient when their appointment is booked,
moved or cancelled, when staff will call instead, the day before the appointment, and when the waitlist offers
them an earlier slot.

The outbox worker asks :meth:`targets` (inside its short transaction) whether an event goes to the patient on
this channel: only for the events patients hear about (``routing.domain.patient_notices.NOTICES``), only with
consent, only on the channel the patient chose and gave a contact for, and never to a contact that opted out.
It then calls :meth:`deliver` outside any transaction: the contact and the appointment are read in a short
transaction of its own (checking the opt-out again, that the appointment is still as the event says, and that
an offer is still open: one answered, expired or withdrawn since is not sent), the
notice is rendered and sent, and the result goes back as a :class:`DeliveryResult` whose detail names a status
or an error's kind, never the contact or the text. An SMS provider that says the number opted out (Twilio's
21610) has the opt-out recorded here. Nothing here runs in the intake's request: a notice that cannot go out
is retried by the outbox and shown to staff there, and never fails the inquiry.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.adapters.db.models import Appointment, Inquiry, WaitlistOffer
from routing.adapters.db.types import utcnow
from routing.adapters.notify import Sent
from routing.config import Settings
from routing.domain import patient_notices
from routing.domain.clinic import ClinicProfile
from routing.domain.patient_notices import (
    ABOUT_AN_APPOINTMENT,
    CANCELLED,
    EMAIL,
    NOTICES,
    OFFERED,
    SMS,
    Notice,
)
from routing.domain.vocabulary import AppointmentStatus, InquiryStatus, OfferStatus
from routing.observability import events
from routing.services import opt_outs, patient_link
from routing.services.location_directory import LocationDirectory
from routing.services.outbox import Channel, DeliveryResult, OutboundEvent
from routing.services.patient_contacts import contact_of

#: The one target of a patient channel.
PATIENT = "patient"
#: The patient's own page for an inquiry, made at a moment: a full URL (see :func:`patient_link_for`).
LinkFor = Callable[[uuid.UUID, datetime], str]


class Mailer(Protocol):
    """What the email channel needs of the mail adapter (``routing.adapters.notify.smtp.SmtpMailer``)."""

    def compose(self, **parts: object) -> object: ...

    def send(self, message: object) -> Sent: ...


class TextSender(Protocol):
    """What the SMS channel needs of the SMS adapter (``routing.adapters.notify.sms_http.TwilioSms``)."""

    def send(self, to: str, body: str) -> Sent: ...


@dataclass(frozen=True)
class _Prepared:
    """A notice ready to send: to whom, and what."""

    address: str
    notice: Notice


class _PatientChannel:
    """What the email and SMS channels share: who is told, and reading what the notice says."""

    name: str

    def __init__(
        self,
        *,
        clinic: ClinicProfile,
        tz: ZoneInfo,
        country_code: str = "1",
        link_for: LinkFor | None = None,
        locations: LocationDirectory | None = None,
    ) -> None:
        self.clinic, self.tz, self.country_code, self.link_for = clinic, tz, country_code, link_for
        #: The practice's sites: a notice about an appointment names the appointment's site.
        self.locations = locations

    def targets(self, session: Session, event: OutboundEvent) -> list[str]:
        """``["patient"]`` when the patient is to be told of ``event`` on this channel, else ``[]``."""
        if event.type not in NOTICES or event.inquiry_id is None:
            return []
        payload = session.scalar(select(Inquiry.payload).where(Inquiry.id == event.inquiry_id))
        contact = contact_of(payload, self.country_code)
        address = contact.address(self.name)
        if self.name not in contact.channels or address is None:
            return []
        return [] if opt_outs.is_opted_out(session, self.name, address) else [PATIENT]

    def deliver(self, session: Session, event: OutboundEvent, target: str) -> DeliveryResult:
        """Read, render and send the notice; the result for the delivery log (no contact, no text in it)."""
        started = time.perf_counter()
        kind = NOTICES.get(event.type, "unknown")
        prepared = self._prepare(session, event, utcnow()) if target == PATIENT else "not sent: unknown target"
        if isinstance(prepared, str):
            events.patient_notice(self.name, kind, event.inquiry_id, "skipped")
            return DeliveryResult(True, False, prepared, _since(started))
        sent = self._send(event, prepared)
        if sent.opted_out:
            self._record_provider_opt_out(session, prepared.address, event.inquiry_id)
        result = "sent" if sent.ok else "retry" if sent.retry else "refused"
        events.patient_notice(self.name, kind, event.inquiry_id, result)
        return DeliveryResult(sent.ok, sent.retry, sent.detail, _since(started))

    def _prepare(self, session: Session, event: OutboundEvent, now: datetime) -> _Prepared | str:
        """The notice and its address; or why it is not sent (a short sentence for the delivery log). Reads in a
        transaction of its own, ended before anything is sent."""
        try:
            return self._read(session, event, now)
        finally:
            session.rollback()

    def _read(self, session: Session, event: OutboundEvent, now: datetime) -> _Prepared | str:
        inquiry = session.get(Inquiry, event.inquiry_id) if event.inquiry_id is not None else None
        if inquiry is None:
            return "not sent: no such inquiry"
        contact = contact_of(inquiry.payload, self.country_code)
        address = contact.address(self.name)
        if self.name not in contact.channels or address is None:
            return "not sent: the patient chose no notices on this channel"
        if opt_outs.is_opted_out(session, self.name, address):
            return "not sent: the patient opted out"
        kind = NOTICES[event.type]
        start = until = None
        clinic = self.clinic
        if kind in ABOUT_AN_APPOINTMENT:
            appointment = _appointment_for(session, event, kind)
            if appointment is None:
                return "not sent: the appointment is no longer as the event says"
            start = appointment.start
            if self.locations is not None:
                clinic = self.locations.clinic_at(appointment.location_id)
        elif kind == OFFERED:
            offer = _open_offer_for(session, event, inquiry, now)
            if offer is None:
                return "not sent: the offer is no longer open"
            start, until = offer.start, offer.expires_at
        link = self.link_for(inquiry.id, now) if self.link_for is not None else None
        notice = Notice(kind, inquiry.language, clinic, self.tz, start=start, until=until, link=link)
        return _Prepared(address, notice)

    def _send(self, event: OutboundEvent, prepared: _Prepared) -> Sent:
        raise NotImplementedError

    def _record_provider_opt_out(self, session: Session, address: str, inquiry_id: uuid.UUID | None) -> None:
        with session.begin():
            opt_outs.set_opt_out(
                session,
                self.name,
                address,
                opted_out=True,
                source=opt_outs.PROVIDER,
                now=utcnow(),
                inquiry_id=inquiry_id,
            )


class EmailChannel(_PatientChannel):
    """Notices by email, each with its unsubscribe link."""

    name = EMAIL

    def __init__(self, mailer: Mailer, *, public_url: str, secret_key: str, **common) -> None:
        super().__init__(**common)
        self.mailer, self.public_url, self.secret_key = mailer, public_url, secret_key

    def _send(self, event: OutboundEvent, prepared: _Prepared) -> Sent:
        notice = prepared.notice
        token = opt_outs.unsubscribe_token(self.secret_key, event.inquiry_id, EMAIL, notice.lang)
        unsubscribe_url = f"{self.public_url}/unsubscribe/{token}"
        email = patient_notices.email(notice, unsubscribe_url)
        message = self.mailer.compose(
            to=prepared.address,
            subject=email.subject,
            text=email.text,
            html=email.html,
            language=email.language,
            # The same on every attempt at this event: a retry is recognisably the same email.
            message_id=f"{event.id}.{notice.kind}",
            unsubscribe_url=unsubscribe_url,
            now=utcnow(),
            sender_name=self.clinic.name,
        )
        return self.mailer.send(message)


class SmsChannel(_PatientChannel):
    """Notices by text message."""

    name = SMS

    def __init__(self, sender: TextSender, **common) -> None:
        super().__init__(**common)
        self.sender = sender

    def _send(self, event: OutboundEvent, prepared: _Prepared) -> Sent:
        return self.sender.send(prepared.address, patient_notices.sms(prepared.notice))


def patient_link_for(settings: Settings) -> LinkFor | None:
    """The patient's own link (``/my/<token>``) as a full URL under ROUTING_PUBLIC_URL, made when the notice is
    sent; None without ROUTING_PUBLIC_URL or ROUTING_SECRET_KEY (a link signed with a process's random key would
    not open in the web process), and the notices then go without it."""
    public_url, secret_key = settings.public_url, settings.secret_key
    if public_url is None or secret_key is None:
        return None
    return lambda inquiry_id, now: public_url + patient_link.link_for(secret_key, inquiry_id, now)


def build_patient_channels(
    settings: Settings, link_for: LinkFor | None = None, locations: LocationDirectory | None = None
) -> tuple[Channel, ...]:
    """The patient channels the settings turn on (email with ROUTING_SMTP_*, SMS with ROUTING_SMS_*), with the
    patient's own link in each notice (``link_for``, by default :func:`patient_link_for`), and each appointment's
    site (``locations``)."""
    channels: list[Channel] = []
    country_code = settings.sms.country_code if settings.sms is not None else "1"
    link_for = link_for or patient_link_for(settings)
    common = {
        "clinic": settings.clinic,
        "tz": settings.timezone,
        "country_code": country_code,
        "link_for": link_for,
        "locations": locations,
    }
    if settings.email is not None:
        # Imported here: a service without email does not load the mail stack.
        from routing.adapters.notify.smtp import SmtpMailer

        # Both checked by load_settings when email is on.
        assert settings.public_url is not None
        assert settings.secret_key is not None
        channels.append(
            EmailChannel(
                SmtpMailer(settings.email), public_url=settings.public_url, secret_key=settings.secret_key, **common
            )
        )
    if settings.sms is not None:
        from routing.adapters.notify.sms_http import TwilioSms

        channels.append(SmsChannel(TwilioSms(settings.sms), **common))
    return tuple(channels)


def _appointment_for(session: Session, event: OutboundEvent, kind: str) -> Appointment | None:
    """The appointment a notice is about: the one the event names (``data["appointment_id"]``), else the
    inquiry's booked one (the latest cancelled one for a cancellation); None when it is no longer so (a
    confirmation or a reminder for an appointment cancelled since is not sent)."""
    wanted = AppointmentStatus.CANCELLED if kind == CANCELLED else AppointmentStatus.BOOKED
    named = event.data.get("appointment_id")
    if named is not None:
        try:
            appointment = session.get(Appointment, uuid.UUID(str(named)))
        except ValueError:
            return None
        if appointment is None or appointment.inquiry_id != event.inquiry_id:
            return None
    else:
        appointment = session.scalar(
            select(Appointment)
            .where(Appointment.inquiry_id == event.inquiry_id, Appointment.status == wanted)
            .order_by(Appointment.created_at.desc())
            .limit(1)
        )
    return appointment if appointment is not None and appointment.status == wanted else None


def _open_offer_for(session: Session, event: OutboundEvent, inquiry: Inquiry, now: datetime) -> WaitlistOffer | None:
    """The waitlist offer a ``waitlist.offered`` event names (``data["offer_id"]``), as it is now: None when it is
    no longer open (answered, expired, withdrawn, or the inquiry was settled another way), so a patient is never
    told of a slot they can no longer take."""
    try:
        offer = session.get(WaitlistOffer, uuid.UUID(str(event.data.get("offer_id"))))
    except ValueError:
        return None
    if offer is None or offer.inquiry_id != inquiry.id or inquiry.status != InquiryStatus.NEEDS_REVIEW:
        return None
    return offer if offer.status == OfferStatus.OPEN and offer.expires_at > now else None


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
