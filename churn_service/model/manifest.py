"""Check every manifest field the server reads, at load, so a garbled one is refused like a bad hash.

Without this a threshold of "x" loaded fine and then made every /predict a 500 while /readyz said 200, and
garbled drift statistics broke /drift and /metrics. Here each field gets its type and range once; whatever
passes can be used without another check, and whatever fails is one line naming the field.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, TypeGuard

from feature_contract import FEATURES

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# The version names files (the drift rings, `<version>-<pid>.ring`, found by glob) and is echoed in every
# answer: letters, digits and . _ - only, so it can neither leave a folder nor match another version's files.
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_BINS = 250  # drift bins are stored as one byte per column


class ManifestInvalid(ValueError):
    """One field of the manifest cannot be served; the message names it."""


def check_manifest(manifest: dict[str, Any]) -> None:
    """ManifestInvalid for the first field the server cannot use as it is."""
    if not (isinstance(manifest.get("sha256"), str) and SHA256_RE.match(manifest["sha256"])):
        raise ManifestInvalid("sha256 must be 64 lowercase hex digits")
    version = manifest.get("version")
    if not (isinstance(version, str) and VERSION_RE.match(version)):
        raise ManifestInvalid(f"version must be 1 to 64 letters, digits, '.', '_' or '-', got {_shown(version)}")
    threshold = manifest.get("threshold", 0.5)
    if not (_is_number(threshold) and 0 <= threshold <= 1):
        raise ManifestInvalid(f"threshold must be a number from 0 to 1, got {_shown(threshold)}")
    if "sklearn_version" in manifest and not isinstance(manifest["sklearn_version"], str):
        raise ManifestInvalid(f"sklearn_version must be a string, got {_shown(manifest['sklearn_version'])}")
    _check_features(manifest.get("features"))
    _check_stats(manifest.get("feature_stats"), manifest.get("prediction_stats"))


def _check_features(features: Any) -> None:
    """The schema `GET /model` publishes: contract field -> {"type": ..., ...}."""
    if features is None:
        return
    if not isinstance(features, dict) or not all(isinstance(spec, dict) and isinstance(spec.get("type"), str)
                                                 for spec in features.values()):
        raise ManifestInvalid("features must map each field to its schema ({\"type\": ...})")
    unknown = sorted(set(features) - set(FEATURES))
    if unknown:
        raise ManifestInvalid(f"features names fields outside the contract: {_shown(unknown)}")


def _check_stats(feature_stats: Any, prediction_stats: Any) -> None:
    """What drift bins and `?explain=true` reads: None or {} means a model trained before drift (no drift)."""
    if feature_stats:
        if not isinstance(feature_stats, dict):
            raise ManifestInvalid("feature_stats must be an object of field -> statistics")
        for name, stats in feature_stats.items():
            if name not in FEATURES:
                raise ManifestInvalid(f"feature_stats names a field outside the contract: {_shown(name)}")
            _check_one(f"feature_stats.{name}", stats)
    if prediction_stats:
        _check_one("prediction_stats", prediction_stats, categorical=False)


def _check_one(where: str, stats: Any, categorical: bool = True) -> None:
    if not isinstance(stats, dict):
        raise ManifestInvalid(f"{where} must be an object")
    if categorical and "frequencies" in stats:
        frequencies = stats["frequencies"]
        if not (isinstance(frequencies, dict) and 0 < len(frequencies) < MAX_BINS
                and all(isinstance(k, str) and _is_share(v) for k, v in frequencies.items())):
            raise ManifestInvalid(f"{where}.frequencies must map categories to shares from 0 to 1")
        return
    deciles, shares = stats.get("deciles"), stats.get("shares")
    if not (_list_of(deciles, _is_number) and 0 < len(deciles) < MAX_BINS and deciles == sorted(deciles)):
        raise ManifestInvalid(f"{where}.deciles must be a rising list of numbers")
    if not (_list_of(shares, _is_share) and len(shares) == len(deciles) + 1):
        raise ManifestInvalid(f"{where}.shares must be one share (0 to 1) per bin: {len(deciles) + 1} of them")
    if "mean" in stats and not _is_number(stats["mean"]):
        raise ManifestInvalid(f"{where}.mean must be a number, got {_shown(stats['mean'])}")


def _is_number(value: Any) -> bool:
    """A finite int or float; JSON's true/false are not numbers here, nor NaN or Infinity, nor an int of 400
    digits (an int compares with a float exactly, where math.isfinite would overflow on it)."""
    if type(value) is int:
        return abs(value) <= 1e300
    return type(value) is float and math.isfinite(value)


def _is_share(value: Any) -> bool:
    return _is_number(value) and 0 <= value <= 1


def _list_of(value: Any, check: Callable[[Any], bool]) -> TypeGuard[list[Any]]:
    return isinstance(value, list) and all(map(check, value))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"
