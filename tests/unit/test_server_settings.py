"""gunicorn's settings from the environment: typed, refused in one line, and a metrics dir that is ours."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from http_common.env import ConfigError
from http_common.gunicorn_base import make_metrics_dir, remove_metrics_dir
from http_common.server_settings import ServerSettings
from tests.helpers import REPO


def test_defaults_and_overrides() -> None:
    assert ServerSettings.from_env(port=9696, threads=1, env={}) == ServerSettings(
        bind="0.0.0.0:9696", workers=2, threads=1, accesslog="-", loglevel="info")
    given = ServerSettings.from_env(port=8000, threads=4, env={
        "BIND": "127.0.0.1:1234", "WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "8", "ACCESS_LOG": "", "LOG_LEVEL": "WARNING"})
    assert given == ServerSettings(bind="127.0.0.1:1234", workers=3, threads=8, accesslog=None, loglevel="warning")


@pytest.mark.parametrize(("name", "value"), [("WEB_CONCURRENCY", "two"), ("WEB_CONCURRENCY", "0"),
                                             ("GUNICORN_THREADS", "²"), ("LOG_LEVEL", "loud")])
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        ServerSettings.from_env(port=9696, threads=1, env={name: value})


@pytest.mark.parametrize("service", ["churn_service", "marketing_service"])
def test_gunicorn_refuses_a_bad_setting_in_one_line(service: str, tmp_path: Path) -> None:
    env = {**os.environ, "GUNICORN_THREADS": "many", "MARKETING_DB": str(tmp_path / "m.db")}
    done = subprocess.run([sys.executable, "-m", "gunicorn", "-c", f"{service}/gunicorn.conf.py", f"{service}:create_app()"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert done.stderr.strip() == "refusing to start: GUNICORN_THREADS must be a whole number, got 'many'"


def test_the_metrics_dir_never_touches_what_it_did_not_create(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pointed at a data volume, the service must not delete the database that lives there."""
    database = tmp_path / "marketing.db"
    database.write_bytes(b"customers")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    made = make_metrics_dir("marketing", ServerSettings.from_env(port=8000, threads=1).metrics_parent)
    assert Path(made).parent == tmp_path and os.environ["PROMETHEUS_MULTIPROC_DIR"] == made
    (Path(made) / "counter_123.db").write_bytes(b"samples")
    remove_metrics_dir(made)
    assert not Path(made).exists()
    assert database.read_bytes() == b"customers"
