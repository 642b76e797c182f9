"""Sign-in, roles, tokens and the CSRF rule of DESIGN §11, as a person and a script meet them.

In process (Flask's test client on a real SQLite file) for the matrices; real gunicorn where workers matter
(the first start's password said once, failures counted across workers); the real CLI as a subprocess.
"""
from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient

from marketing_service import create_app
from marketing_service.config import MarketingConfig
from tests.helpers import REPO, Gunicorn, Marketing, count, customer, fetch_all
from tests.in_process import InProcess, admin_token, config_for
from tests.samples import LIKELY_CHURNER

PASSWORD = "a-long-enough-password"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_of(page: str) -> str:
    found = CSRF_META.search(page)
    assert found, "every page carries <meta name=\"csrf-token\">"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str, **environ: str) -> int:
    token = csrf_of(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                         environ_base=environ)
    return answer.status_code


@pytest.fixture
def app_with_admin(churn: Gunicorn, tmp_path: Path) -> Iterator[InProcess]:
    app = create_app(config_for(tmp_path, churn.url, admin_password=PASSWORD))
    yield InProcess(app, tmp_path / "marketing.db")
    app.extensions["marketing"].storage.close()


def test_signing_in_rotates_the_session_and_signing_out_ends_it(app_with_admin: InProcess) -> None:
    client = app_with_admin.client
    login_page = client.get("/login")
    before = client.get_cookie("session")
    assert login_page.status_code == 200 and 'name="username"' in login_page.get_data(as_text=True)
    assert client.get("/api/customers").status_code == 401

    answer = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                         "csrf_token": csrf_of(login_page.get_data(as_text=True))})
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    after = client.get_cookie("session")
    assert before is not None and after is not None and after.value != before.value
    assert client.get("/api/customers").status_code == 200
    page = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'id="signed-in-as">admin (admin)<' in page

    assert client.post("/logout").status_code == 400, "signing out is a state change: it needs the CSRF token"
    answer = client.post("/logout", data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    assert client.get("/api/customers").status_code == 401


def test_next_sends_back_to_this_site_only(app_with_admin: InProcess) -> None:
    client = app_with_admin.client
    bounced = client.get("/campaigns?x=1", headers={"Accept": "text/html"})
    assert bounced.status_code == 303 and bounced.headers["Location"] == "/login?next=/campaigns?x%3D1"
    for target, landing in (("/campaigns?x=1", "/campaigns?x=1"), ("//evil.example/", "/"),
                            ("https://evil.example/", "/"), ("/\\evil.example", "/")):
        token = csrf_of(client.get("/login").get_data(as_text=True))
        answer = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token,
                                             "next": target})
        assert answer.headers["Location"] == landing, target


def test_a_wrong_password_re_renders_the_form_and_a_forged_sign_in_is_refused(app_with_admin: InProcess) -> None:
    client = app_with_admin.client
    token = csrf_of(client.get("/login").get_data(as_text=True))
    wrong = client.post("/login", data={"username": "admin", "password": "not-it", "csrf_token": token},
                        headers={"Accept": "text/html"})
    assert wrong.status_code == 401 and 'id="login-error"' in wrong.get_data(as_text=True)
    assert 'value="admin"' in wrong.get_data(as_text=True), "the name typed is kept"
    forged = InProcess(app_with_admin.app).client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert forged.status_code == 400, "a sign-in without the form's CSRF token (login CSRF) is refused"


def test_five_failures_from_one_address_lock_it_out_with_retry_after(app_with_admin: InProcess) -> None:
    client = app_with_admin.client
    for attempt in range(5):
        assert sign_in(client, f"nobody-{attempt}", "wrong-password", REMOTE_ADDR="10.1.1.1") == 401
    locked = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                         "csrf_token": csrf_of(client.get("/login").get_data(as_text=True))},
                         environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert locked.status_code == 429 and 850 <= int(locked.headers["Retry-After"]) <= 900
    assert sign_in(client, "admin", PASSWORD, REMOTE_ADDR="10.2.2.2") == 303, "another address is not locked"


def test_behind_a_proxy_the_throttle_counts_the_forwarded_address(churn: Gunicorn, tmp_path: Path) -> None:
    """PROXY_HOPS=1 (the production overlay's ingress): clients behind one ingress are not one address."""
    app = create_app(config_for(tmp_path, churn.url, admin_password=PASSWORD, proxy_hops=1))
    try:
        client = app.test_client()
        for attempt in range(5):
            client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
            assert sign_in(client, f"someone-{attempt}", "wrong-password") == 401
        assert sign_in(client, "admin", PASSWORD) == 429
        client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.9"
        assert sign_in(client, "admin", PASSWORD) == 303
    finally:
        app.extensions["marketing"].storage.close()


def test_session_calls_need_the_csrf_token_whatever_the_content_type(app_with_admin: InProcess) -> None:
    client = app_with_admin.client
    assert sign_in(client, "admin", PASSWORD) == 303
    token = csrf_of(client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True))
    db = app_with_admin.db
    attempts = {
        "json": dict(path="/api/customers", json=customer(LIKELY_CHURNER, "CSRF-1")),
        "multipart": dict(path="/api/campaigns", data={"name": "csrf", "file": (iter([b"customerid\n"]), "a.csv")},
                          content_type="multipart/form-data"),
        "text/plain": dict(path="/api/campaigns", data='{"name": "csrf", "customers": []}',
                           content_type="text/plain"),
    }
    for kind, request in attempts.items():
        path = request.pop("path")
        refused = client.post(path, **request)
        assert refused.status_code == 400, kind
        assert refused.get_json()["error"]["code"] == "csrf_failed" and "X-CSRFToken" in refused.get_json()["error"]["message"]
    assert count(db, "SELECT COUNT(*) FROM customers") == 0 and count(db, "SELECT COUNT(*) FROM campaigns") == 0
    accepted = client.post("/api/customers", json=customer(LIKELY_CHURNER, "CSRF-1"), headers={"X-CSRFToken": token})
    assert accepted.status_code in (200, 202), accepted.get_data(as_text=True)
    script = InProcess(app_with_admin.app, token=admin_token(app_with_admin.app, role="marketer", name="script"))
    assert script.post("/api/customers", json=customer(LIKELY_CHURNER, "CSRF-2")).status_code in (200, 202), \
        "a bearer call needs no CSRF token"


def test_roles_and_the_admin_page(app_with_admin: InProcess) -> None:
    client = app_with_admin.client
    assert sign_in(client, "admin", PASSWORD) == 303
    token = csrf_of(client.get("/admin").get_data(as_text=True))
    added = client.post("/admin/users", data={"name": "mia", "role": "viewer", "password": PASSWORD, "csrf_token": token})
    assert added.status_code == 303
    duplicate = client.post("/admin/users", data={"name": "mia", "role": "viewer", "password": PASSWORD, "csrf_token": token})
    assert duplicate.status_code == 422 and "already" in duplicate.get_data(as_text=True)
    weak = client.post("/admin/users", data={"name": "kim", "role": "viewer", "password": "short", "csrf_token": token})
    assert weak.status_code == 422 and fetch_all(app_with_admin.db, "SELECT name FROM users WHERE name = 'kim'") == []
    made = client.post("/admin/tokens", data={"name": "crm-sync", "role": "marketer", "csrf_token": token})
    shown = re.search(r'id="token-value">([^<]+)<', made.get_data(as_text=True))
    assert made.status_code == 201 and shown
    assert shown.group(1) not in client.get("/admin").get_data(as_text=True), "a token is shown once"

    viewer = app_with_admin.app.test_client()
    assert sign_in(viewer, "mia", PASSWORD) == 303
    assert viewer.get("/api/customers").status_code == 200
    viewer_token = csrf_of(viewer.get("/", headers={"Accept": "text/html"}).get_data(as_text=True))
    refused = viewer.post("/api/customers", json=customer(LIKELY_CHURNER, "V-1"), headers={"X-CSRFToken": viewer_token})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert viewer.get("/admin", headers={"Accept": "application/json"}).status_code == 403

    script = InProcess(app_with_admin.app, token=shown.group(1))
    assert script.post("/api/customers", json=customer(LIKELY_CHURNER, "T-1")).status_code in (200, 202)
    assert script.get("/admin", headers={"Accept": "application/json"}).status_code == 403
    client.post("/admin/tokens/crm-sync/revoke", data={"csrf_token": token})
    revoked = script.get("/api/customers")
    assert revoked.status_code == 401 and 'error="invalid_token"' in revoked.headers["WWW-Authenticate"]

    assert client.post("/admin/users/mia/disable", data={"csrf_token": token}).status_code == 303
    assert viewer.get("/api/customers").status_code == 401, "disabling a user ends their session at once"
    assert sign_in(viewer, "mia", PASSWORD) == 401


def test_secrets_are_stored_as_hashes_only(app_with_admin: InProcess) -> None:
    token = admin_token(app_with_admin.app, name="hash-check")
    [(password_hash,)] = fetch_all(app_with_admin.db, "SELECT password_hash FROM users WHERE name = 'admin'")
    assert password_hash.startswith("$argon2id$")
    stored = b"".join(p.read_bytes() for p in app_with_admin.db.parent.glob("marketing.db*"))
    assert PASSWORD.encode() not in stored and token.encode() not in stored


def run_cli(db: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "marketing_service", *args], input=stdin, capture_output=True,
                          text=True, cwd=REPO, env={"MARKETING_DB": str(db), "PATH": "/usr/bin:/bin"}, timeout=60)


def test_the_cli_manages_users_and_tokens(churn: Gunicorn, tmp_path: Path) -> None:
    db = tmp_path / "marketing.db"
    added = run_cli(db, "users", "add", "lea", "--role", "marketer", stdin=PASSWORD + "\n")
    assert added.returncode == 0 and added.stdout == "", added.stderr
    assert run_cli(db, "users", "add", "lea", "--role", "marketer", stdin=PASSWORD + "\n").returncode == 1
    bad_role = run_cli(db, "users", "add", "max", "--role", "owner", stdin=PASSWORD + "\n")
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr
    made = run_cli(db, "tokens", "create", "nightly", "--role", "viewer")
    assert made.returncode == 0 and re.fullmatch(r"mkt_[A-Za-z0-9_-]{43}\n", made.stdout), made.stdout
    token = made.stdout.strip()
    listing = run_cli(db, "tokens", "list").stdout
    assert "nightly\tviewer\tlive" in listing and token not in listing
    assert "lea\tmarketer\tactive" in run_cli(db, "users", "list").stdout

    with Marketing(tmp_path, churn.url, workers=1, db=str(db)) as server:
        reads = requests.get(f"{server.url}/api/customers", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert reads.status_code == 200
        assert run_cli(db, "tokens", "revoke", "nightly").returncode == 0
        gone = requests.get(f"{server.url}/api/customers", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert gone.status_code == 401 and gone.headers["WWW-Authenticate"].startswith("Bearer")
        session = requests.Session()
        form = session.get(f"{server.url}/login", timeout=10).text
        signed = session.post(f"{server.url}/login", allow_redirects=False, timeout=10,
                              data={"username": "lea", "password": PASSWORD, "csrf_token": csrf_of(form)})
        assert signed.status_code == 303
        assert run_cli(db, "users", "disable", "lea").returncode == 0
        assert session.get(f"{server.url}/api/customers", timeout=10).status_code == 401
    assert run_cli(db, "users", "add", "lea", "--role", "viewer", stdin="a-new-password-for-lea\n").returncode == 0, \
        "a disabled user can be added again, with a new role and password"
    assert "lea\tviewer\tactive" in run_cli(db, "users", "list").stdout


def test_the_first_start_says_a_generated_password_once_and_it_signs_in(churn: Gunicorn, tmp_path: Path) -> None:
    """Two workers start at once on an empty database: one creates `admin`, and the log says its password once."""
    first = Marketing(tmp_path, churn.url, {"MARKETING_ADMIN_PASSWORD": ""}, workers=2)
    with first:
        lines = re.findall(r"initial admin password for user admin: (\S+)", first.output())
        assert len(lines) == 1, first.output()
        session = requests.Session()
        form = session.get(f"{first.url}/login", timeout=10).text
        signed = session.post(f"{first.url}/login", data={"username": "admin", "password": lines[0],
                                                          "csrf_token": csrf_of(form)}, allow_redirects=False, timeout=10)
        assert signed.status_code == 303
    again = Marketing(tmp_path, churn.url, {"MARKETING_ADMIN_PASSWORD": ""}, workers=1)
    with again:
        assert "initial admin password" not in again.output(), "said once: a restart keeps the first admin"
    assert count(str(tmp_path / "marketing.db"), "SELECT COUNT(*) FROM users") == 1


def test_failures_are_counted_across_workers(churn: Gunicorn, tmp_path: Path) -> None:
    with Marketing(tmp_path, churn.url, workers=2) as server:
        statuses = []
        for _ in range(7):
            session = requests.Session()  # a new connection each time: the attempts land on both workers
            form = session.get(f"{server.url}/login", timeout=10).text
            statuses.append(session.post(f"{server.url}/login", timeout=10, allow_redirects=False,
                                         data={"username": "admin", "password": "guess", "csrf_token": csrf_of(form)}))
        assert [s.status_code for s in statuses] == [401] * 5 + [429] * 2
        assert 0 < int(statuses[-1].headers["Retry-After"]) <= 900


@pytest.mark.parametrize("key", ["", "short-key", "REPLACE-ME-with-64-hex-characters",
                                 "change-me-change-me-change-me-change-me", "a" * 64])
def test_production_refuses_an_unsafe_secret_key(key: str) -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        MarketingConfig.from_env({"MARKETING_ENV": "production", "SECRET_KEY": key})


def test_production_starts_on_a_real_key_with_secure_cookies(churn: Gunicorn, tmp_path: Path) -> None:
    key = "4f9c1b7e0a2d8c6f3e5b9a1d7c0e2f4a6b8d0c2e4f6a8b0d"
    config = MarketingConfig.from_env({"MARKETING_ENV": "production", "SECRET_KEY": key})
    assert config.session_cookie_secure
    app = create_app(config_for(tmp_path, churn.url, environment="production", secret_key=key,
                                session_cookie_secure=True, admin_password=PASSWORD))
    try:
        client = app.test_client()
        token = csrf_of(client.get("/login").get_data(as_text=True))
        answer = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
        assert answer.status_code == 303 and "Secure" in answer.headers["Set-Cookie"]
    finally:
        app.extensions["marketing"].storage.close()


def test_production_start_with_a_placeholder_key_stops_with_one_line(churn: Gunicorn, tmp_path: Path) -> None:
    server = Marketing(tmp_path, churn.url, {"MARKETING_ENV": "production",
                                             "SECRET_KEY": "REPLACE-ME-with-64-hex-characters"}, workers=1)
    with pytest.raises(RuntimeError) as stopped:
        server.start()
    output = str(stopped.value)  # the server's log, as start() reports a server that exited
    assert "exited with" in output and "Traceback" not in output, output
    assert [line for line in output.splitlines() if "SECRET_KEY" in line and "MARKETING_ENV=production" in line]


def test_secret_key_fallbacks_keep_sessions_and_unsubscribe_links(churn: Gunicorn, tmp_path: Path) -> None:
    old, new = "old-key-" + "1" * 40, "new-key-" + "2" * 40
    before = create_app(config_for(tmp_path, churn.url, secret_key=old, admin_password=PASSWORD))
    client = before.test_client()
    assert sign_in(client, "admin", PASSWORD) == 303
    link = before.extensions["marketing"].links.url("ann@example.com").rsplit("/", 1)[1]
    before.extensions["marketing"].storage.close()
    cookie = client.get_cookie("session")
    assert cookie is not None
    for fallbacks, works in (((old,), True), ((), False)):
        after = create_app(config_for(tmp_path, churn.url, secret_key=new, secret_key_fallbacks=fallbacks))
        try:
            visitor = after.test_client()
            visitor.set_cookie("session", cookie.value)
            assert (visitor.get("/api/customers").status_code == 200) is works, fallbacks
            assert (visitor.get(f"/unsubscribe/{link}").status_code == 200) is works, fallbacks
        finally:
            after.extensions["marketing"].storage.close()
