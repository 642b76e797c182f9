"""Every route of both apps, walked from their URL maps: each is on DESIGN §11's open list or refuses an
anonymous call, so a route added later cannot be left open by accident; no change is a viewer's to make; and a
mail provider's webhook token (DESIGN §12) reaches its one route and nothing else, not even a page to read."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from churn_service import create_app as create_churn
from churn_service.config import ChurnConfig
from marketing_service import create_app
from tests.helpers import Gunicorn
from tests.in_process import InProcess, admin_token, config_for

# DESIGN §11, as written there (not read from the code under test).
MARKETING_OPEN = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/unsubscribe/<token>"),
                  ("POST", "/unsubscribe/<token>"), ("GET", "/login"), ("POST", "/login"),
                  ("GET", "/static/<path:filename>")}
CHURN_OPEN = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}
WEBHOOK_ONLY = ("POST", "/api/mail-events")  # DESIGN §12: the one route a `webhook` token may call
# Reads that are a marketer's: the bulk export of customers' records with their outcomes (DESIGN §13's training.csv).
MARKETER_READS = {("GET", "/api/outcomes/training.csv")}
SAMPLE_ARGUMENTS = {"rowid": "1", "path": "x", "default": "x", "string": "x", "int": "1"}


def routes(app: Flask) -> Iterator[tuple[str, str, str]]:
    """(method, rule, a URL that matches it) for every rule and method, HEAD and OPTIONS aside (Flask's own)."""
    for rule in app.url_map.iter_rules():
        url = re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", lambda m: SAMPLE_ARGUMENTS.get(m.group(1) or "default", "x"),
                     rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield method, rule.rule, url


def anonymous(service: InProcess, method: str, url: str, accept: str) -> tuple[int, str]:
    answer = service.client.open(url, method=method, headers={"Accept": accept})
    return answer.status_code, answer.headers.get("Location", "") + answer.headers.get("WWW-Authenticate", "")


@pytest.fixture(scope="module")
def marketing_apps(churn: Gunicorn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InProcess, ...]]:
    """The same app three times: anonymous, with a viewer's token, and with a webhook token."""
    app = create_app(config_for(tmp_path_factory.mktemp("access-map"), churn.url))
    yield (InProcess(app), InProcess(app, token=admin_token(app, role="viewer", name="a-viewer")),
           InProcess(app, token=admin_token(app, role="webhook", name="a-webhook")))
    app.extensions["marketing"].storage.close()


def test_every_marketing_route_is_open_by_design_or_refuses_anonymous_calls(marketing_apps) -> None:
    service, _, _ = marketing_apps
    walked = list(routes(service.app))
    assert len(walked) > 25  # the walk sees the whole map, not an empty one
    assert MARKETING_OPEN <= {(method, rule) for method, rule, _ in walked}  # the open list still exists
    for method, rule, url in walked:
        if (method, rule) in MARKETING_OPEN:
            status, _ = anonymous(service, method, url, "application/json")
            assert status not in (401, 403), (method, rule, status)
            continue
        status, challenge = anonymous(service, method, url, "application/json")
        assert status == 401 and challenge.startswith("Bearer"), (method, rule, status)
        status, location = anonymous(service, method, url, "text/html")
        assert status == 401 or (status == 303 and location.startswith("/login?next=")), (method, rule, status)


def test_a_viewer_reads_everything_and_changes_nothing(marketing_apps) -> None:
    _, viewer, _ = marketing_apps
    for method, rule, url in routes(viewer.app):
        if (method, rule) in MARKETING_OPEN:
            continue
        answer = viewer.client.open(url, method=method, headers={"Authorization": f"Bearer {viewer.token}"})
        if (method, rule) == ("POST", "/logout"):  # everyone signed in may sign out
            assert answer.status_code == 303, answer.status_code
        elif method == "GET" and not rule.startswith("/admin") and (method, rule) not in MARKETER_READS:
            assert answer.status_code not in (401, 403), (method, rule, answer.status_code)
        else:
            assert answer.status_code == 403, (method, rule, answer.status_code)
            assert answer.get_json()["error"]["code"] == "forbidden"


def test_a_webhook_token_reaches_its_one_route_and_nothing_else(marketing_apps) -> None:
    _, _, webhook = marketing_apps
    walked = list(routes(webhook.app))
    assert WEBHOOK_ONLY in {(method, rule) for method, rule, _ in walked}
    for method, rule, url in walked:
        if (method, rule) in MARKETING_OPEN:
            continue
        # Through the API door as a provider calls it (no Accept): a JSON answer either way.
        answer = webhook.client.open(url, method=method, headers={"Authorization": f"Bearer {webhook.token}"})
        if (method, rule) == WEBHOOK_ONLY:
            assert answer.status_code not in (401, 403), (method, rule, answer.status_code)
        else:
            assert answer.status_code == 403, (method, rule, answer.status_code)
            assert answer.get_json()["error"]["code"] == "forbidden"


def test_every_churn_route_is_open_by_design_or_refuses_calls_without_the_token(model_dir: Path) -> None:
    app = create_churn(ChurnConfig(model_path=model_dir / "model.bin", api_token="a-token-for-the-walk-0123456789abcdef"))
    service = InProcess(app)
    walked = list(routes(app))
    assert CHURN_OPEN <= {(method, rule) for method, rule, _ in walked}
    for method, rule, url in walked:
        status, challenge = anonymous(service, method, url, "application/json")
        if (method, rule) in CHURN_OPEN:
            assert status == 200, (method, rule, status)
        else:
            assert status == 401 and challenge.startswith("Bearer"), (method, rule, status)
