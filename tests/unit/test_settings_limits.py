"""Every numeric setting of both services refuses nan, inf and values past a sane ceiling, in one line naming it.

In process for the matrix (each service's `from_env`), and once per service on the real command line: a bad
value stops gunicorn with the one line, not a traceback and not a service polling every few centuries."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from churn_service.config import ChurnConfig
from http_common.env import ConfigError, Env
from http_common.server_settings import ServerSettings
from marketing_service.config import MarketingConfig
from tests.helpers import REPO

NOT_FINITE = ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "1" + "0" * 400]
MARKETING_TOO_LARGE = {
    "SMTP_PORT": "65536", "OFFER_COOLDOWN_DAYS": "36500", "POLL_INTERVAL": "86400", "DB_POOL_SIZE": "100000",
    "CHURN_CONNECT_TIMEOUT": "100000", "CHURN_READ_TIMEOUT": "100000", "LEASE_SECONDS": "1e9", "MAX_BODY_MB": "1e6",
    "MAX_UPLOAD_MB": "1e6", "DB_BUSY_TIMEOUT_MS": "99999999999",
}
CHURN_TOO_LARGE = {
    "MODEL_POLL_SECONDS": "1e9", "MAX_BATCH": "10000000000", "MAX_BODY_MB": "100000", "DRIFT_WINDOW": "10000000000",
    "DRIFT_MIN_RECORDS": "10000000000",
}
SERVER_TOO_LARGE = {"WEB_CONCURRENCY": "100000", "GUNICORN_THREADS": "100000"}


def refused(read: object, env: dict[str, str], name: str) -> str:
    with pytest.raises(ConfigError) as caught:
        read(env)  # type: ignore[operator]
    message = str(caught.value)
    assert message.startswith(f"{name} must be") and "\n" not in message, message
    assert len(message) < 200, message  # a 400-digit value is shown cut short
    return message


@pytest.mark.parametrize("name", MARKETING_TOO_LARGE)
@pytest.mark.parametrize("value", ["too large", *NOT_FINITE])
def test_marketing_refuses_each_numeric_setting_past_its_range(name: str, value: str) -> None:
    raw = MARKETING_TOO_LARGE[name] if value == "too large" else value
    refused(MarketingConfig.from_env, {name: raw}, name)


@pytest.mark.parametrize("name", CHURN_TOO_LARGE)
@pytest.mark.parametrize("value", ["too large", *NOT_FINITE])
def test_churn_refuses_each_numeric_setting_past_its_range(name: str, value: str) -> None:
    raw = CHURN_TOO_LARGE[name] if value == "too large" else value
    refused(ChurnConfig.from_env, {name: raw}, name)


@pytest.mark.parametrize("name", SERVER_TOO_LARGE)
@pytest.mark.parametrize("value", ["too large", *NOT_FINITE])
def test_gunicorn_settings_refuse_values_past_their_range(name: str, value: str) -> None:
    raw = SERVER_TOO_LARGE[name] if value == "too large" else value
    refused(lambda env: ServerSettings.from_env(port=9696, threads=4, env=env), {name: raw}, name)


@pytest.mark.parametrize("bind", ["0.0.0.0:65536", "127.0.0.1:99999999999999999999", "[::1]:70000", "host:port",
                                  "host:-1", "0.0.0.0:８０"])
def test_a_bind_with_a_port_past_65535_is_refused(bind: str) -> None:
    refused(lambda env: ServerSettings.from_env(port=9696, threads=4, env=env), {"BIND": bind}, "BIND")


@pytest.mark.parametrize("bind", ["0.0.0.0:65535", "[::1]:9696", "unix:/tmp/churn.sock", "localhost", "127.0.0.1:0"])
def test_binds_gunicorn_takes_still_pass(bind: str) -> None:
    assert ServerSettings.from_env(port=9696, threads=4, env={"BIND": bind}).bind == bind


def test_the_ceilings_themselves_are_accepted() -> None:
    config = MarketingConfig.from_env({"SMTP_PORT": "65535", "OFFER_COOLDOWN_DAYS": "3650", "POLL_INTERVAL": "3600",
                                       "DB_POOL_SIZE": "1000"})
    assert (config.smtp_port, config.offer_cooldown_days, config.poll_interval, config.db_pool_size) == (
        65535, 3650, 3600, 1000)
    assert ChurnConfig.from_env({"MODEL_POLL_SECONDS": "3600"}).model_poll_seconds == 3600


def test_integers_refuse_nan_and_numbers_refuse_it_by_name() -> None:
    read = Env({"POOL": "nan", "WAIT": "nan"})
    with pytest.raises(ConfigError, match=r"^POOL must be a whole number, got 'nan'$"):
        read.integer("POOL", 10, maximum=1000)
    with pytest.raises(ConfigError, match=r"^WAIT must be a finite number, got 'nan'$"):
        read.number("WAIT", 1.0, 0, maximum=60)


def start_failure(service: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "MARKETING_DB": str(tmp_path / "m.db"), "MAIL_DIR": str(tmp_path / "mail"), **env}
    return subprocess.run([sys.executable, "-m", "gunicorn", "-c", f"{service}/gunicorn.conf.py", "--bind",
                           "127.0.0.1:0", f"{service}:create_app()"],
                          cwd=REPO, env=full, capture_output=True, text=True, timeout=60)


def one_reason(done: subprocess.CompletedProcess[str]) -> str:
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    [line] = [line for line in output.splitlines() if "refusing to start" in line]
    return line


@pytest.mark.parametrize(("service", "name", "value"), [
    ("marketing_service", "OFFER_COOLDOWN_DAYS", "36500"),
    ("marketing_service", "SMTP_PORT", "70000"),
    ("marketing_service", "DB_POOL_SIZE", "nan"),
    ("marketing_service", "POLL_INTERVAL", "inf"),
    ("churn_service", "MODEL_POLL_SECONDS", "inf"),
    ("churn_service", "MAX_BATCH", "1" + "0" * 400),
])
def test_the_real_server_exits_with_one_line_naming_the_variable(service: str, name: str, value: str,
                                                                 tmp_path: Path) -> None:
    line = one_reason(start_failure(service, {name: value}, tmp_path))
    assert f"refusing to start: {name} must be" in line, line


def test_a_port_past_65535_in_bind_stops_gunicorn_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "churn_service/gunicorn.conf.py",
                           "churn_service:create_app()"], cwd=REPO, env={**os.environ, "BIND": "0.0.0.0:70000"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert done.stderr.strip() == "refusing to start: BIND must be host:port with a port from 0 to 65535, got '0.0.0.0:70000'"
