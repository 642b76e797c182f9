"""`docker compose up` for real: build, start, score through marketing, survive churn going away.

Runs with `docker compose` (v2) and with the older `docker-compose` (v1) on the offline Debian stand-in of
python:3.11-slim, and with v2 on a base image with the official image's layout (CPython under /usr/local,
site-packages), wherever a Docker engine answers; under CI=true a missing engine or Compose fails instead
of skipping. Also: the `tools` profile training into churn's registry volume (with v2, on both base
layouts), and the `monitoring` profile (on the first layout only).
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.compose_stack import (
    BUILD_TIMEOUT_S,
    FIRST_TEST_BUDGET_S,
    MAX_IMAGE_MB,
    Compose,
    compose_on,
    compose_v1,
    missing,
    wait_for,
)
from tests.e2e.sign_in import form_session
from tests.helpers import REPO
from tests.samples import LIKELY_CHURNER, LOYAL_CUSTOMER

pytestmark = [pytest.mark.compose, pytest.mark.slow, pytest.mark.timeout(FIRST_TEST_BUDGET_S),
              pytest.mark.optional(reason="needs a Docker engine and Compose; under CI=true their absence fails")]


@pytest.fixture(scope="session")
def built_layouts() -> set[str]:
    """Which base layouts the images were built on in this run."""
    return set()


LAYOUTS = [("v2", "debian"), ("v1", "debian"), ("v2", "official")]  # the first also runs the monitoring profile
ON_ONE_LAYOUT = {"test_the_monitoring_profile_scrapes_both_services_with_the_projects_rules"}
ON_EACH_BASE = {"test_a_model_trained_with_the_tools_profile_is_served_without_a_restart"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test on every layout, but two. The monitoring profile runs on the first: its image is Debian's
    prometheus package whatever the base. The tools-profile training runs once per base image (v2 on each):
    the trainer image is what differs between bases, and v1 would run the same images again. Either would
    add a minute, not coverage."""
    if "compose" in metafunc.fixturenames:
        name = metafunc.function.__name__
        layouts = LAYOUTS
        if name in ON_ONE_LAYOUT:
            layouts = LAYOUTS[:1]
        elif name in ON_EACH_BASE:
            layouts = [(generation, base) for generation, base in LAYOUTS if generation == "v2"]
        metafunc.parametrize("compose", layouts, ids=[f"{g}-{layout}" for g, layout in layouts], indirect=True,
                             scope="module")


@pytest.fixture(scope="module")
def compose(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            built_layouts: set[str]) -> Iterator[Compose]:
    """The whole scenario per Compose generation and base layout: DESIGN §6 promises the file works with
    both generations, and the images build on both layouts. Each layout's images are built once per run, by
    v2 (BuildKit where the engine has it): v1 runs on the same images, since a second full build with the
    classic builder would add minutes, not coverage of the Compose file."""
    generation, layout = request.param
    tool = compose_on(layout, tmp_path_factory.mktemp("docker-config"))
    if generation == "v1":
        v1 = compose_v1()
        if v1 is None:
            missing("Compose v1 is not installed")
        tool = v1
    stack = Compose(tool, generation, layout)
    try:
        if layout not in built_layouts:
            stack.run("--profile", "tools", "build", timeout=BUILD_TIMEOUT_S)
            built_layouts.add(layout)
        stack.run("up", "-d", "--no-build", timeout=300)
        wait_for(lambda: requests.get(f"{stack.marketing}/readyz", timeout=3).json()["churn"] == "reachable",
                 timeout=180, what="marketing ready with churn reachable")
        yield stack
    finally:
        subprocess.run([*stack.base, "logs", "--no-color", "--tail", "50"], cwd=REPO, env=stack.env, timeout=60)
        subprocess.run([*stack.base, "--profile", "monitoring", "down", "-v", "--remove-orphans", "--timeout", "10"],
                       cwd=REPO, env=stack.env,
                       capture_output=True, timeout=180)


def submit(stack: Compose, record: dict) -> requests.Response:
    return stack.http.post(f"{stack.marketing}/api/customers", json=record, timeout=30)


def test_the_first_start_logs_an_admin_password_that_signs_in(compose: Compose) -> None:
    """Compose sets no MARKETING_ADMIN_PASSWORD: the first start makes one, logs it once, and it signs in."""
    [password] = compose.initial_admin_passwords()
    browser = form_session(compose.marketing, "admin", password)
    page = browser.get(f"{compose.marketing}/customers", timeout=10)
    assert page.status_code == 200 and page.url == f"{compose.marketing}/customers"
    assert 'id="signed-in-as">admin (admin)<' in page.text
    assert requests.get(f"{compose.marketing}/api/customers", timeout=10).status_code == 401  # and nothing is open


def test_churner_gets_an_offer_email_in_the_volume_and_loyal_customer_none(compose: Compose) -> None:
    churner = submit(compose, dict(LIKELY_CHURNER, customerid="E2E-1", email="e2e1@example.com", name="Eve"))
    loyal = submit(compose, dict(LOYAL_CUSTOMER, customerid="E2E-2", email="e2e2@example.com", name="Lou"))
    assert churner.status_code == 200 and loyal.status_code == 200
    assert churner.json()["customers"][0]["churn"] is True
    assert loyal.json()["customers"][0]["churn"] is False and loyal.json()["customers"][0]["offer"] is None
    offer_id = churner.json()["customers"][0]["offer"]["id"]
    files = wait_for(compose.mail_files, timeout=30, what="the .eml in the volume")
    assert files == [f"offer-{offer_id}.eml"]
    eml = compose.run("exec", "-T", "marketing", "cat", f"/data/mail/{files[0]}").stdout
    assert "To: e2e1@example.com" in eml and "Dear Eve," in eml
    user = compose.run("exec", "-T", "marketing", "id", "-u").stdout.strip()
    assert user != "0", "containers must not run as root"


def test_churn_down_means_pending_then_scored_when_it_is_back(compose: Compose) -> None:
    compose.run("stop", "churn", timeout=60)
    try:
        pending = submit(compose, dict(LIKELY_CHURNER, customerid="E2E-3", email="e2e3@example.com", name="Pat"))
        assert pending.status_code == 202
        assert pending.json()["customers"][0]["status"] == "pending"
    finally:
        compose.run("start", "churn", timeout=60)

    def scored() -> bool:
        listed = compose.http.get(f"{compose.marketing}/api/customers", timeout=5).json()["customers"]
        return any(c["customerid"] == "E2E-3" and c["status"] == "scored" for c in listed)

    wait_for(scored, timeout=120, what="the pending record to be scored with no further request")
    wait_for(lambda: len(compose.mail_files()) == 2, timeout=30, what="the second offer email")


def test_images_stay_within_their_size_budget_on_this_layout(compose: Compose) -> None:
    for service, limit_mb in MAX_IMAGE_MB[compose.layout].items():
        image = f"churn-system/{service}:{compose.env['IMAGE_TAG']}"
        size = subprocess.run(["docker", "image", "inspect", image, "--format", "{{.Size}}"], capture_output=True,
                              text=True, check=True, timeout=30).stdout.strip()
        assert int(size) <= limit_mb * 1_000_000, f"{image} ({compose.layout} layout) is {int(size) / 1e6:.0f} MB"


def test_services_run_the_python_of_the_base_image_with_packages_from_the_venv(compose: Compose) -> None:
    """Neither image depends on where the base keeps its packages: the venv's python is the base's own."""
    expected_python = "/usr/local/bin/python3" if compose.layout == "official" else "/usr/bin/python3"
    probe = ("import os, sys, flask; print(sys.prefix, os.path.realpath(sys.executable), flask.__file__)")
    for service in ("churn", "marketing"):
        prefix, executable, flask_file = compose.run("exec", "-T", service, "python3", "-c", probe).stdout.split()
        assert prefix == "/opt/venv" and flask_file.startswith("/opt/venv/lib/python3.11/site-packages/")
        assert os.path.realpath(executable).endswith("python3.11")
        assert compose.run("exec", "-T", service, "readlink", "-f", expected_python).stdout.strip() == executable


def test_a_model_trained_with_the_tools_profile_is_served_without_a_restart(compose: Compose) -> None:
    """DESIGN §7 in compose: the `train` tool writes into the churn service's registry volume, and the
    running churn container serves the new version (and the old one again after a rollback) unrestarted."""
    def served() -> str:
        return requests.get(f"{compose.churn}/readyz", timeout=5).json()["model_version"]

    def every_worker_serves(version: str) -> bool:
        return all(served() == version for _ in range(12))  # fresh connections, each to either worker

    seeded, started = served(), compose.started_at("churn")
    listed = compose.run("--profile", "tools", "run", "--rm", "-T", "train", "list").stdout
    assert f"* {seeded}" in listed, f"the volume is not seeded with the image's model:\n{listed}"
    trained = compose.run("--profile", "tools", "run", "--rm", "-T", "train", "--data", "/data/telco-customer-churn.csv",
                          "--C", "0.5", "--folds", "2", "--promote", "always", timeout=600).stdout
    assert "PROMOTED" in trained, trained
    new = wait_for(lambda: (version := served()) != seeded and version, timeout=2 + 1 + 10,
                   what="churn to serve the promoted model")
    # Each worker checks CURRENT on its own clock: until both have, a customer may meet either model.
    wait_for(lambda: every_worker_serves(new), timeout=2 + 1 + 10, what="both churn workers to serve it")
    assert new in trained and compose.started_at("churn") == started
    decided = submit(compose, dict(LIKELY_CHURNER, customerid="E2E-M", email="m@example.com", name="Mo"))
    assert decided.json()["customers"][0]["model_version"] == new

    compose.run("--profile", "tools", "run", "--rm", "-T", "train", "rollback", timeout=120)
    wait_for(lambda: served() == seeded, timeout=2 + 1 + 10, what="churn to serve the seeded model again")
    assert compose.started_at("churn") == started


def test_the_monitoring_profile_scrapes_both_services_with_the_projects_rules(compose: Compose) -> None:
    """Prometheus (Debian's package in an image of ours) configured from monitoring/ itself."""
    compose.run("--profile", "monitoring", "build", "prometheus", timeout=BUILD_TIMEOUT_S)
    compose.run("--profile", "monitoring", "up", "-d", "--no-build", "prometheus", timeout=300)
    api = f"http://127.0.0.1:{compose.prometheus_port}/api/v1"

    def targets_up() -> set[str]:
        targets = requests.get(f"{api}/targets", timeout=5).json()["data"]["activeTargets"]
        return {t["labels"]["job"] for t in targets if t["health"] == "up"} == {"churn", "marketing"}

    wait_for(targets_up, timeout=90, what="prometheus scraping churn and marketing on the compose network")
    rules = requests.get(f"{api}/rules", timeout=5).json()["data"]["groups"]
    assert {r["name"] for g in rules for r in g["rules"]} >= {"ChurnFeatureDrift", "ChurnPredictionDrift",
                                                              "ChurnServerErrors", "MarketingCannotReachChurn"}
