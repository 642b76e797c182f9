"""The repository's own packages, zipped for the executors: on a cluster their Python has numpy, pyarrow and
scikit-learn installed, but not this checkout, and the scorer they unpickle lives in `churn_service`."""
from __future__ import annotations

import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("churn_service", "feature_contract", "http_common")  # what `churn_service` imports of ours


def package_zip(folder: Path) -> Path:
    """`folder/churn-packages.zip` holding every .py file of PACKAGES, importable from the zip's root."""
    path = folder / "churn-packages.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in PACKAGES:
            for source in sorted((ROOT / package).rglob("*.py")):
                archive.write(source, source.relative_to(ROOT).as_posix())
    return path
