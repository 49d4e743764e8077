"""routing: appointment routing and referrals for a pain-management practice."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from routing.config import Settings, configure_logging, load_settings

__version__ = "0.1.0"

#: Largest request body accepted anywhere (intake forms are far smaller).
MAX_CONTENT_LENGTH = 64 * 1024


def create_app(config: Mapping[str, object] | Settings | None = None) -> Flask:
    """Build the Flask application.

    ``config`` is either validated :class:`Settings` or a mapping of environment-variable names to
    values that override the process environment (handy in tests). Invalid settings raise
    :class:`routing.config.ConfigError` here, at start, not at the first request.
    """
    from routing import cli
    from routing.http import (
        admin,
        admin_locations,
        admin_previews,
        admin_rulebooks,
        admin_waitlist,
        admin_webhooks,
        body_limit,
        calendar_download,
        console,
        deps,
        docs_assets,
        dry_run,
        fhir_notifications,
        form_builders,
        health,
        intake,
        landing,
        locations,
        observability,
        patient_link,
        problems,
        questionnaire,
        rate_limits,
        scheduler_events,
        security,
        served_form,
        sms_replies,
        unsubscribe,
    )
    from routing.http.api import RoutingApi, openapi_settings
    from routing.wiring import wire
    from schemas.inquiry import InquiryRequestSchema
    from schemas.scheduler_event import SchedulerEventSchema

    settings = config if isinstance(config, Settings) else load_settings(config)
    configure_logging(settings.log_level)

    app = Flask(__name__)
    body_limit.init_app(app)
    app.config.update(
        TESTING=settings.testing,
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
        # Stack traces must never reach a client, even if someone sets FLASK_DEBUG by habit.
        PROPAGATE_EXCEPTIONS=False,
        **openapi_settings(__version__),
    )
    app.extensions["routing"] = wire(settings)
    app.teardown_appcontext(deps.close_request_session)

    api = RoutingApi(app)
    app.extensions["routing.api"] = api
    api.register_blueprint(health.bp)
    api.spec.components.schema("InquiryRequest", schema=InquiryRequestSchema)
    api.register_blueprint(intake.bp)
    api.register_blueprint(locations.bp)
    api.register_blueprint(calendar_download.bp)
    api.register_blueprint(questionnaire.bp)
    api.register_blueprint(form_builders.bp)
    api.spec.components.schema("SchedulerEvent", schema=SchedulerEventSchema)
    api.register_blueprint(scheduler_events.bp)
    api.register_blueprint(fhir_notifications.bp)
    api.register_blueprint(sms_replies.bp)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(dry_run.bp)
    api.register_blueprint(admin.bp)
    api.register_blueprint(admin_webhooks.bp)
    api.register_blueprint(admin_waitlist.bp)
    api.register_blueprint(admin_rulebooks.bp)
    api.register_blueprint(admin_previews.bp)
    api.register_blueprint(admin_locations.bp)
    app.register_blueprint(docs_assets.bp)
    app.register_blueprint(landing.bp)
    app.register_blueprint(served_form.bp)
    app.register_blueprint(unsubscribe.bp)
    app.register_blueprint(patient_link.bp)

    # Registered after the Api so these handlers, not flask-smorest's JSON ones, answer.
    app.register_error_handler(HTTPException, problems.handle_http_exception)
    app.register_error_handler(problems.Problem, problems.handle_problem)
    app.register_error_handler(OperationalError, problems.handle_database_unavailable)
    app.register_error_handler(Exception, problems.handle_unexpected_error)

    rate_limits.init_app(app, settings)
    security.init_app(app, settings)
    if settings.trusted_proxies:
        # Behind the clinic's load balancer: the client address comes from X-Forwarded-For.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)
    console.init_app(app, settings)
    observability.init_app(app)
    cli.register(app)
    return app
