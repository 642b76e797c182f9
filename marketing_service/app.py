"""App factory: storage, churn client, mailer and background loop built once per process."""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from flask import Flask, Response
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import ServiceUnavailable

from http_common.errors import error_or_page, internal_error, register_error_handlers
from http_common.metrics import ServiceMetrics, instrument
from marketing_service.api import api
from marketing_service.backends import open_storage
from marketing_service.background import BackgroundLoop
from marketing_service.campaigns.api import allow_uploads, campaigns_api
from marketing_service.campaigns.pages import campaigns_web
from marketing_service.churn_client import ChurnClient
from marketing_service.config import MarketingConfig
from marketing_service.error_pages import error_page
from marketing_service.mailer import make_mailer
from marketing_service.observe import ChurnUpCollector
from marketing_service.row_ids import RowIdConverter
from marketing_service.state import MarketingState, close_db
from marketing_service.suppression import Links
from marketing_service.unsubscribe import unsubscribe
from marketing_service.web import web

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'")


def security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def storage_busy(is_busy: Callable[[Exception], bool], exc: Exception) -> Response:
    """A database locked past the busy timeout (or, on PostgreSQL, a pool or lock wait that ran out, a
    deadlock, a server restarting) is a clear, retryable 503; nothing was half-written, since every write
    is one transaction. Other operational errors stay 500s (and are logged)."""
    if not is_busy(exc):
        logging.getLogger(__name__).exception("database error")
        return internal_error()
    message = "the database is busy; nothing was saved, please retry"
    response = error_or_page(ServiceUnavailable(message), "storage_busy", message)
    response.headers["Retry-After"] = "1"
    return response


def create_app(config: MarketingConfig | None = None) -> Flask:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = config or MarketingConfig.from_env()
    storage = open_storage(config)
    storage.init_db()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.resolved_secret_key(),
        MAX_CONTENT_LENGTH=int(config.max_body_mb * 1024 * 1024),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.session_cookie_secure,
        WTF_CSRF_TIME_LIMIT=None,  # a form left open over lunch still submits
    )
    app.json.sort_keys = False
    app.url_map.converters["rowid"] = RowIdConverter  # before any blueprint's rules are bound
    client = ChurnClient(config.churn_url, config.churn_connect_timeout, config.churn_read_timeout)
    mailer = make_mailer(config.mailer, config.mail_dir, config.smtp_host, config.smtp_port)
    links = Links(app.config["SECRET_KEY"], config.public_url)
    background = BackgroundLoop(storage.connect, client, mailer,
                                config.offer_rules, config.mail_from, config.poll_interval, config.lease_seconds, links)
    metrics = ServiceMetrics()
    metrics.exposed.register(ChurnUpCollector(client.reachable))
    app.extensions["marketing"] = MarketingState(config, client, background, metrics, storage, links)
    app.before_request(allow_uploads)  # before CSRF protection reads the (large) form
    csrf = CSRFProtect(app)
    csrf.exempt(api)
    csrf.exempt(campaigns_api)
    csrf.exempt(unsubscribe)  # the signed token in the URL is the authority; mail clients post without a form
    register_error_handlers(app, html_page=error_page)
    app.register_error_handler(storage.error_type, partial(storage_busy, storage.is_busy))
    instrument(app, metrics)
    app.after_request(security_headers)
    app.teardown_appcontext(close_db)
    app.register_blueprint(web)
    app.register_blueprint(api)
    app.register_blueprint(unsubscribe)
    app.register_blueprint(campaigns_api)
    app.register_blueprint(campaigns_web)
    if config.background:
        background.start()
    logging.getLogger(__name__).info("marketing ready: churn at %s, %s mailer, db %s",
                                     config.churn_url, config.mailer, storage.dialect)
    return app
