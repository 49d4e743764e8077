"""Helpers for the patient's own link: the action token a step's page carries, and posting a step."""

from __future__ import annotations

import re

_ACTION_TOKEN = re.compile(r'<input type="hidden" name="action_token" value="([^"]+)">')


def action_token_of(response) -> str:
    """The action token in a step's page (the cancel confirmation, the another-time form)."""
    (token,) = _ACTION_TOKEN.findall(response.get_data(as_text=True))
    return token


def cancel_from_link(client, link: str):
    """Open the cancel step of ``link``, then confirm it, as a patient's browser does; the post's response."""
    confirm = client.get(f"{link}/cancel")
    assert confirm.status_code == 200, confirm.get_data(as_text=True)
    return client.post(f"{link}/cancel", data={"action_token": action_token_of(confirm)})


def ask_from_link(client, link: str, preferred_times: str):
    """Open the another-time step of ``link`` and send ``preferred_times``; the post's response."""
    form = client.get(f"{link}/another-time")
    assert form.status_code == 200, form.get_data(as_text=True)
    return client.post(
        f"{link}/another-time", data={"action_token": action_token_of(form), "preferred_times": preferred_times}
    )
