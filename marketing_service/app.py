"""App factory: storage, churn client, mailer and background loop built once per process, blueprints wired."""
from __future__ import annotations

import logging
from functools import partial

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from http_common.errors import register_error_handlers
from http_common.metrics import ServiceMetrics, instrument
from marketing_service.auth.users import seed_admin
from marketing_service.background import BackgroundLoop
from marketing_service.campaigns.api import allow_uploads, campaigns_api
from marketing_service.campaigns.pages import campaigns_web
from marketing_service.campaigns.report_api import allow_plan_upload, campaign_report
from marketing_service.churn_client import ChurnClient
from marketing_service.config import MarketingConfig
from marketing_service.mail.delivery import DeliveryPolicy
from marketing_service.mail.links import Links
from marketing_service.mail.mailers import make_mailer
from marketing_service.mail.pacing import Pacer
from marketing_service.offers.rules import OfferRules
from marketing_service.state import MarketingState, close_db
from marketing_service.storage import Storage, open_storage
from marketing_service.web.access import install_access
from marketing_service.web.admin import admin
from marketing_service.web.api import api
from marketing_service.web.errors import error_page, storage_busy
from marketing_service.web.fast_submit import FastSubmit
from marketing_service.web.headers import security_headers
from marketing_service.web.health import ChurnUpCollector, health
from marketing_service.web.login import login
from marketing_service.web.mail_events import mail_events
from marketing_service.web.mail_metrics import MailCollector
from marketing_service.web.outcomes_api import outcomes_api
from marketing_service.web.pages import web
from marketing_service.web.quality_metrics import QualityCollector
from marketing_service.web.row_ids import RowIdConverter
from marketing_service.web.unsubscribe import unsubscribe


def seed_first_admin(storage: Storage, password: str) -> None:
    """DESIGN §11: a database with no users gets `admin`; a generated password is logged once, by the one
    worker whose insert won."""
    conn = storage.connect()
    try:
        generated = seed_admin(conn, password)
    finally:
        conn.close()
    if generated:
        logging.getLogger(__name__).warning("initial admin password for user admin: %s", generated)


def create_app(config: MarketingConfig | None = None) -> Flask:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = config or MarketingConfig.from_env()
    storage = open_storage(config)
    storage.init_db()
    seed_first_admin(storage, config.admin_password)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.resolved_secret_key(),
        SECRET_KEY_FALLBACKS=list(config.secret_key_fallbacks),  # sessions signed with an older key still read
        MAX_CONTENT_LENGTH=int(config.max_body_mb * 1024 * 1024),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.session_cookie_secure,
        WTF_CSRF_TIME_LIMIT=None,  # a form left open over lunch still submits
        PERMANENT_SESSION_LIFETIME=12 * 3600,  # a working day; then sign in again
    )
    if config.proxy_hops:  # behind an ingress every client would share its address, and one lockout
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.proxy_hops, x_proto=config.proxy_hops)  # type: ignore[method-assign]
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider's setting
    app.url_map.converters["rowid"] = RowIdConverter  # before any blueprint's rules are bound
    client = ChurnClient(config.churn_url, config.churn_connect_timeout, config.churn_read_timeout,
                         token=config.churn_api_token)
    mailer = make_mailer(config.mailer, config.mail_dir, config.smtp_host, config.smtp_port)
    links = Links([*config.secret_key_fallbacks, app.config["SECRET_KEY"]], config.public_url)
    rules = OfferRules(config.campaign, config.offer_cooldown_days, config.mail_domain)
    delivery = DeliveryPolicy(config.mail_from, config.mail_domain, config.mail_max_attempts, config.mail_backoff_seconds,
                              Pacer(config.mail_rate_per_minute) if config.mail_rate_per_minute else None)
    background = BackgroundLoop(storage.connect, client, mailer, rules, delivery, config.poll_interval,
                                config.lease_seconds, links, config.shadow_poll_seconds)
    metrics = ServiceMetrics(config.metrics_dir)
    metrics.exposed.register(ChurnUpCollector(client.reachable))
    metrics.exposed.register(MailCollector(storage.connect))
    metrics.exposed.register(QualityCollector(storage.connect))
    app.extensions["marketing"] = MarketingState(config, client, background, metrics, storage, links, rules)
    app.before_request(allow_uploads)  # before the door's CSRF check reads the (large) form
    app.before_request(allow_plan_upload)
    install_access(app)
    register_error_handlers(app, html_page=error_page)
    app.register_error_handler(storage.error_type, partial(storage_busy, storage.is_busy))
    instrument(app, metrics)
    app.after_request(security_headers)
    app.teardown_appcontext(close_db)
    for blueprint in (web, api, health, unsubscribe, campaigns_api, campaigns_web, login, admin, mail_events,
                      outcomes_api, campaign_report):
        app.register_blueprint(blueprint)
    app.wsgi_app = FastSubmit(app, app.wsgi_app, app.extensions["marketing"])  # type: ignore[method-assign]
    if config.background:
        background.start()
    logging.getLogger(__name__).info("marketing ready: churn at %s, %s mailer, db %s",
                                     config.churn_url, config.mailer, storage.dialect)
    return app
