"""Rulebook versions: create a draft, approve it (a second admin), activate it, roll back; each step audited.

A draft is an uploaded rulebook (or an edited copy of a version: ``based_on``), validated exactly as the file is
at start (``parse_rulebook``: the same messages), and never edited afterwards: a change is a new draft, so an
impact preview of a draft stays true of it. Approval is by an admin who is not the draft's author; it needs
``acknowledge=True`` when the draft's latest finished impact preview shows inquiries leaving urgent_review, or
when no finished preview says (see :data:`URGENT_REVIEW_EXITS` and
``routing.domain.rulebook_lifecycle.acknowledgement_reason``). Activating an approved version retires the active
one; activating a retired one is a rollback (:func:`roll_back` goes back to the one active before). Every process
picks the new active version up within ``ROUTING_RULEBOOK_CHECK_SECONDS`` (``routing.services.rulebook_source``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from routing.adapters.db.models import RulebookPreview, RulebookVersion
from routing.adapters.db.types import utcnow
from routing.domain.rulebook_lifecycle import acknowledgement_reason, activation_refusal, approval_refusal
from routing.domain.triage.rulebook import RulebookError, parse_rulebook
from routing.domain.vocabulary import RulebookState, StaffRole
from routing.services import audit
from routing.services.reading import read_only
from routing.services.rulebook_preview import LARGEST_ID
from routing.services.staff_tokens import Staff

#: The key of an impact preview's ``result`` (``RulebookPreview.result``, written by
#: ``routing.services.rulebook_preview``) that approval reads: how many replayed inquiries whose decision in force
#: is ``urgent_review`` the draft would route elsewhere, a whole number (0: none). A finished preview whose result
#: lacks it counts as "not known", and approval then needs the acknowledgement.
URGENT_REVIEW_EXITS = "urgent_review_exits"
#: ``RulebookPreview.status`` of a preview that finished with a result (queued, running, cancelled, failed do not).
PREVIEW_DONE = "done"
#: The longest ``version`` a rulebook may have (``rulebook_versions.label`` and ``triage_decisions.rulebook_version``).
LABEL_LENGTH = 40


class NotFound(LookupError):
    """No rulebook version with that id."""


def known_id(version_id: int) -> int:
    """``version_id``, or NotFound when no version could have it (the database's ids are 32-bit)."""
    if not 1 <= version_id <= LARGEST_ID:
        raise NotFound(version_id)
    return version_id


class Refused(Exception):
    """The step cannot be taken; nothing changed. ``errors`` names the fields at fault, ``extra`` adds facts for
    the answer (e.g. ``urgent_review_exits``)."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 409,
        slug: str = "rulebook-refused",
        errors: Mapping[str, list[str]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.slug = slug
        self.errors = dict(errors or {})
        self.extra = extra


def create_draft(
    session: Session,
    staff: Staff,
    document: dict[str, Any],
    note: str | None = None,
    based_on: int | None = None,
    now: datetime | None = None,
) -> RulebookVersion:
    """A new draft of ``document`` (validated as at start), authored by ``staff``; audited ``rulebook.create``.

    ``based_on`` names the version it was copied from. Refused (422) when the document does not validate, or when
    its ``version`` is too long or another version's already (it is stored with every decision it makes).
    """
    now = now or utcnow()
    _validated(document, "document")
    label = document["version"]
    if len(label) > LABEL_LENGTH:
        _invalid("document.version", f"At most {LABEL_LENGTH} characters; it is stored with every decision.")
    try:
        with session.begin():
            if based_on is not None and session.get(RulebookVersion, based_on) is None:
                _invalid("based_on", f"There is no version {based_on}.")
            _label_is_free(session, label)
            row = RulebookVersion(
                label=label,
                document=document,
                sha256=_digest(document),
                state=RulebookState.DRAFT,
                based_on=based_on,
                note=note,
                created_at=now,
                created_by=staff.name,
                created_by_id=staff.id,
            )
            session.add(row)
            session.flush()
            audit.record(
                session,
                staff,
                "rulebook.create",
                details={"version_id": row.id, "label": label, "based_on": based_on},
                reason=note,
                now=now,
            )
    except IntegrityError:
        # Another draft took the label between the check and the insert.
        _invalid("document.version", _label_taken(label))
    return row


def approve(
    session: Session, staff: Staff, version_id: int, acknowledge: bool = False, now: datetime | None = None
) -> RulebookVersion:
    """Approve a draft (an admin, not its author); audited ``rulebook.approve`` with what was acknowledged.

    Refused: 403 for a non-admin or the author; 409 unless it is a draft; 422 (``acknowledgement-required``)
    without ``acknowledge`` when :func:`approval_check` says one is needed.
    """
    now = now or utcnow()
    _require_admin(staff, "Approving a rulebook version")
    with session.begin():
        row = _locked(session, version_id)
        refusal = approval_refusal(row.state, row.created_by_id, staff.id)
        if refusal is not None:
            if row.state == RulebookState.DRAFT:  # a draft is refused only to its author
                raise Refused(refusal, status=403, slug="two-person-rule")
            raise Refused(refusal, slug="approval-refused")
        preview_id, exits = _latest_impact(session, version_id)
        why = acknowledgement_reason(exits)
        if why is not None and not acknowledge:
            raise Refused(
                why,
                status=422,
                slug="acknowledgement-required",
                errors={"acknowledge_urgent_review_exits": [why]},
                urgent_review_exits=exits,
                preview_id=preview_id,
            )
        row.state = RulebookState.APPROVED
        row.approved_at, row.approved_by, row.approved_by_id = now, staff.name, staff.id
        details = {
            "version_id": row.id,
            "label": row.label,
            "preview_id": preview_id,
            URGENT_REVIEW_EXITS: exits,
            "acknowledged": why is not None,
        }
        audit.record(session, staff, "rulebook.approve", details=details, now=now)
    return row


def activate(
    session: Session, staff: Staff, version_id: int, now: datetime | None = None, *, reason: str | None = None
) -> RulebookVersion:
    """Make an approved (or a retired: a rollback) version the active one, retiring the active one; audited
    ``rulebook.activate`` (or ``rulebook.rollback``). Every process uses it within seconds.

    Refused: 403 for a non-admin; 409 for a draft or the active version, or when another activation won a race;
    422 when the version no longer validates (code changed since it was written).
    """
    now = now or utcnow()
    _require_admin(staff, "Activating a rulebook version")
    try:
        with session.begin():
            row = _locked(session, version_id)
            return _activate(session, staff, row, now, reason)
    except IntegrityError:
        raise _raced() from None


def roll_back(
    session: Session, staff: Staff, now: datetime | None = None, *, reason: str | None = None
) -> RulebookVersion:
    """Re-activate the version that was active before the current one (the most recently activated retired
    one); audited ``rulebook.rollback``. Refused (409) when no version was ever retired."""
    now = now or utcnow()
    _require_admin(staff, "Rolling the rulebook back")
    try:
        with session.begin():
            previous = session.scalars(
                select(RulebookVersion)
                .where(RulebookVersion.state == RulebookState.RETIRED)
                .order_by(RulebookVersion.activated_at.desc().nulls_last(), RulebookVersion.id.desc())
                .limit(1)
                .with_for_update()
            ).first()
            if previous is None:
                raise Refused("No earlier version has been active: there is nothing to roll back to.")
            return _activate(session, staff, previous, now, reason)
    except IntegrityError:
        raise _raced() from None


@read_only
def list_versions(session: Session) -> list[dict[str, Any]]:
    """Every version (as :func:`as_dict`, without documents), newest first."""
    return [as_dict(row) for row in session.scalars(select(RulebookVersion).order_by(RulebookVersion.id.desc()))]


@read_only
def get_version(session: Session, version_id: int) -> dict[str, Any]:
    """One version with its document and, for a draft, what approving it needs (:func:`approval_check`)."""
    row = session.get(RulebookVersion, known_id(version_id))
    if row is None:
        raise NotFound(version_id)
    approval = _approval(session, version_id) if row.state == RulebookState.DRAFT else None
    return {**as_dict(row), "document": row.document, "approval": approval}


@read_only
def approval_check(session: Session, version_id: int) -> dict[str, Any]:
    """What approving this version needs now, for the approval step's page: ``preview_id`` (the latest finished
    preview, or None), ``urgent_review_exits`` (its count, or None when not known), ``acknowledgement_required``
    and ``why`` (the sentence to show beside the acknowledgement box, or None)."""
    known_id(version_id)
    if session.get(RulebookVersion, version_id) is None:
        raise NotFound(version_id)
    return _approval(session, version_id)


def as_dict(row: RulebookVersion) -> dict[str, Any]:
    """A version as the API shows it in lists (no document)."""

    def at(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": row.id,
        "label": row.label,
        "state": row.state,
        "based_on": row.based_on,
        "note": row.note,
        "sha256": row.sha256,
        "created_at": at(row.created_at),
        "created_by": row.created_by,
        "approved_at": at(row.approved_at),
        "approved_by": row.approved_by,
        "activated_at": at(row.activated_at),
        "activated_by": row.activated_by,
    }


def _activate(
    session: Session, staff: Staff, row: RulebookVersion, now: datetime, reason: str | None
) -> RulebookVersion:
    refusal = activation_refusal(row.state)
    if refusal is not None:
        raise Refused(refusal, slug="activation-refused")
    # Checked again with this code: a version written under an older one may not compile any more, and every
    # process would then keep the version it has (routing.services.rulebook_source) while this one looked active.
    _validated(row.document, f"version {row.id}")
    rollback = row.state == RulebookState.RETIRED
    current = session.scalars(
        select(RulebookVersion).where(RulebookVersion.state == RulebookState.ACTIVE).with_for_update()
    ).first()
    if current is not None:
        current.state = RulebookState.RETIRED
        # Retired before the new one is active: one active version at a time, even within the transaction.
        session.flush()
    row.state = RulebookState.ACTIVE
    row.activated_at, row.activated_by = now, staff.name
    session.flush()
    details = {
        "version_id": row.id,
        "label": row.label,
        "previous_version_id": current.id if current else None,
        "previous_label": current.label if current else None,
    }
    audit.record(
        session,
        staff,
        "rulebook.rollback" if rollback else "rulebook.activate",
        details=details,
        reason=reason,
        now=now,
    )
    return row


def _approval(session: Session, version_id: int) -> dict[str, Any]:
    preview_id, exits = _latest_impact(session, version_id)
    why = acknowledgement_reason(exits)
    return {
        "preview_id": preview_id,
        URGENT_REVIEW_EXITS: exits,
        "acknowledgement_required": why is not None,
        "why": why,
    }


def _latest_impact(session: Session, version_id: int) -> tuple[str | None, int | None]:
    """The latest finished preview's id and its :data:`URGENT_REVIEW_EXITS` (None when not known)."""
    preview = session.execute(
        select(RulebookPreview.id, RulebookPreview.result)
        .where(RulebookPreview.version_id == version_id, RulebookPreview.status == PREVIEW_DONE)
        .order_by(RulebookPreview.finished_at.desc().nulls_last(), RulebookPreview.requested_at.desc())
        .limit(1)
    ).first()
    if preview is None:
        return None, None
    exits = (preview.result or {}).get(URGENT_REVIEW_EXITS)
    known = isinstance(exits, int) and not isinstance(exits, bool) and exits >= 0
    return str(preview.id), exits if known else None


def _validated(document: Any, origin: str) -> None:
    """Validate as at start; the message names the place in the document (``rules[2].when: ...``)."""
    try:
        parse_rulebook(document, origin=origin)
    except RulebookError as error:
        raise Refused(
            f"The rulebook does not validate: {error}",
            status=422,
            slug="validation-error",
            errors={"document": [str(error)]},
        ) from None


def _label_is_free(session: Session, label: str) -> None:
    if session.scalar(select(RulebookVersion.id).where(RulebookVersion.label == label)) is not None:
        _invalid("document.version", _label_taken(label))


def _label_taken(label: str) -> str:
    return f"Version '{label}' exists already: give this draft a version of its own (it is stored with each decision)."


def _invalid(field: str, message: str) -> None:
    raise Refused(message, status=422, slug="validation-error", errors={field: [message]})


def _require_admin(staff: Staff, what: str) -> None:
    if not staff.may(StaffRole.ADMIN):
        raise Refused(f"{what} needs the 'admin' role; your token has '{staff.role}'.", status=403)


def _raced() -> Refused:
    return Refused("Another version was activated at the same moment; reload the versions and decide again.")


def _locked(session: Session, version_id: int) -> RulebookVersion:
    known_id(version_id)
    row = session.get(RulebookVersion, version_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFound(version_id)
    return row


def _digest(document: dict[str, Any]) -> str:
    """SHA-256 of the document as canonical JSON (keys sorted, no spaces): the same rules, the same digest."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
