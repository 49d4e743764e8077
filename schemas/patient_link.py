"""The forms of a patient's own page (``/my/<token>``): cancel, ask for another time, answer a waitlist offer,
and the days or times that do not suit them."""

from __future__ import annotations

from marshmallow import ValidationError, post_load, pre_load, validate, validates

from schemas.text import InputSchema, Text

#: The longest preferred-times text a patient may send (it goes into staff's queue line and the audit trail).
TIMES_MAX = 500
#: The days or times that do not suit a patient: as many, and as long, as the intake takes
#: (``unavailable_times``), one on each line.
UNAVAILABLE_LINES, UNAVAILABLE_LINE_MAX = 5, 100


class ConfirmSchema(InputSchema):
    """A confirmed step: the action token the step's page carried."""

    action_token = Text(required=True, validate=validate.Length(1, 400))


class AnotherTimeSchema(ConfirmSchema):
    """Which days and times suit the patient, in their own words."""

    preferred_times = Text(required=True, multiline=True, validate=validate.Length(1, TIMES_MAX))

    @pre_load
    def _trimmed(self, data, **_kwargs):
        # Spaces alone are no answer; line breaks inside the text are kept.
        if hasattr(data, "to_dict"):
            data = data.to_dict()
        if isinstance(data, dict) and isinstance(data.get("preferred_times"), str):
            data = {**data, "preferred_times": data["preferred_times"].strip()}
        return data


class UnavailableTimesSchema(ConfirmSchema):
    """The days or times that do not suit the patient, one on each line; empty: any time suits them.

    Loads ``unavailable_times`` as the list of its lines, trimmed, blank ones dropped.
    """

    unavailable_times = Text(multiline=True, load_default="", validate=validate.Length(max=TIMES_MAX))

    @validates("unavailable_times")
    def _lines(self, value: str, **_kwargs) -> None:
        lines = _lines_of(value)
        if len(lines) > UNAVAILABLE_LINES or any(len(line) > UNAVAILABLE_LINE_MAX for line in lines):
            raise ValidationError(f"At most {UNAVAILABLE_LINES} lines of {UNAVAILABLE_LINE_MAX} characters each.")

    @post_load
    def _as_list(self, data, **_kwargs):
        return {**data, "unavailable_times": _lines_of(data["unavailable_times"])}


def _lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]
