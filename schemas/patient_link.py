"""The forms of a patient's own page (``/my/<token>``): cancel, and ask for another time."""

from __future__ import annotations

from marshmallow import pre_load, validate

from schemas.text import InputSchema, Text

#: The longest preferred-times text a patient may send (it goes into staff's queue line and the audit trail).
TIMES_MAX = 500


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
