"""/metrics counts outbox deliveries by channel and result, shows the backlog and the dead letters, and times
alerts from their change to the on-call receiver."""

from __future__ import annotations

import base64

from sqlalchemy import update

from routing import create_app
from routing.adapters.db.models import OutboxDelivery
from tests.conftest import settings_for
from tests.http.admin_helpers import RED_FLAG, make_token, new_inquiry
from tests.http.test_metrics import scrape, value
from tests.outbox.helpers import subscribe, worker
from tests.outbox.receiver import Receiver

SECRET = "whsec_" + base64.b64encode(b"on-call alert secret, 32 bytes!!").decode()


def test_deliveries_are_counted_by_channel_and_result_with_the_backlog_and_alert_latency(migrated_url):
    with Receiver(secret=SECRET) as pager, Receiver(answers=[500], otherwise=410) as crm:
        settings = {"ROUTING_ALERT_WEBHOOK_URLS": pager.url, "ROUTING_ALERT_WEBHOOK_SECRET": SECRET}
        app = create_app(settings_for(migrated_url, **settings))
        client = app.test_client()
        admin = make_token(app, "Ada Admin", "admin")
        crm.secret = subscribe(client, admin, crm.url, ["inquiry.received"])["secret"]
        before = scrape(client)

        new_inquiry(client, RED_FLAG)
        worker(app).drain()  # the alert delivered; the webhook failed once (500), to be retried
        middle = scrape(client)
        with app.extensions["routing"].db.session() as session, session.begin():  # the retry is due now
            due_now = update(OutboxDelivery).where(OutboxDelivery.channel == "webhook")
            session.execute(due_now.values(next_attempt_at=OutboxDelivery.created_at))
        worker(app).drain()  # retried: 410 Gone, dead-lettered
        after = scrape(client)
    app.extensions["routing"].db.dispose()

    def delta(samples, name, **labels):
        return value(samples, name, **labels) - value(before, name, **labels)

    assert delta(middle, "routing_outbox_deliveries_total", channel="alert", result="delivered") == 1
    assert delta(middle, "routing_outbox_deliveries_total", channel="webhook", result="failed") == 1
    assert value(middle, "routing_outbox_backlog", status="pending") == 1
    assert delta(after, "routing_outbox_deliveries_total", channel="webhook", result="dead") == 1
    assert value(after, "routing_outbox_backlog", status="dead") == 1
    assert value(after, "routing_outbox_backlog", status="pending") == 0
    assert delta(after, "routing_alert_latency_seconds_count") == 1
    assert delta(after, "routing_alert_latency_seconds_bucket", le="10.0") == 1
    assert delta(after, "routing_outbox_send_duration_seconds_count", channel="webhook") == 2
