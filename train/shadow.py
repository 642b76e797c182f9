"""`python -m train promote-shadow` (DESIGN §13): serve the shadow challenger only when outcomes show it does not
rank worse: marketing's paired comparison (`GET /api/model-quality`'s `shadow` block) must be of the registry's
own champion and challenger, on enough labelled rows, with a 95 % CI (DeLong) of challenger − champion that
excludes a loss (its lower end at or above 0). A point estimate alone never promotes: on a few hundred rows two
models' AUCs differ by a few hundredths by chance."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from train.registry import Registry, RegistryError


class ShadowError(RegistryError):
    """The comparison cannot be read or does not match the registry; one line a person can act on."""


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    block: dict[str, Any]


def read_quality(source: str, token: str | None) -> dict[str, Any]:
    """The model-quality JSON from marketing's URL (a bearer token if given) or from a saved file."""
    try:
        if source.startswith(("http://", "https://")):
            request = urllib.request.Request(source, headers={"Authorization": f"Bearer {token}"} if token else {})
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - http(s) checked above
                raw = response.read()
        else:
            raw = Path(source).read_bytes()
        body = json.loads(raw)
    except urllib.error.HTTPError as exc:
        hint = " (give a marketer's API token: --token or MARKETING_TOKEN)" if exc.code in (401, 403) else ""
        raise ShadowError(f"{source} answered {exc.code}{hint}") from None
    except (OSError, ValueError) as exc:
        raise ShadowError(f"cannot read the model quality from {source}: {exc}") from None
    if not isinstance(body, dict):
        raise ShadowError(f"{source} is not a model-quality JSON object")
    return body


def decide(registry: Registry, quality: dict[str, Any], min_rows: int) -> Decision:
    """Whether the registry's SHADOW may replace CURRENT, from the comparison in `quality`."""
    champion, challenger = registry.current(), registry.shadow()
    if challenger is None:
        raise ShadowError(f"no SHADOW in {registry.root}: name a challenger first (python -m train shadow VERSION)")
    block = quality.get("shadow")
    if not isinstance(block, dict):
        return Decision(False, "no comparison yet: marketing has no labelled customers scored by both models", {})
    if (block.get("champion"), block.get("challenger")) != (champion, challenger):
        return Decision(False, f"the comparison is of {block.get('challenger')} against {block.get('champion')}, "
                               f"but the registry serves {champion} with shadow {challenger}: wait for outcomes of "
                               f"this pair", block)
    try:
        lo, hi = (float(x) for x in block["ci95"])
        n, difference = int(block["n"]), float(block["difference"])
        aucs = float(block["challenger_auc"]), float(block["champion_auc"])
    except (KeyError, TypeError, ValueError):
        raise ShadowError(f"the shadow comparison lacks n, the AUCs, difference or ci95: {str(block)[:200]}") from None
    said = (f"on {n} labelled rows: AUC {aucs[0]:.4f} vs {aucs[1]:.4f}, difference {difference:+.4f}, "
            f"95 % CI [{lo:+.4f}, {hi:+.4f}]")
    if n < min_rows:
        return Decision(False, f"too few rows ({n} < --min-rows {min_rows}) " + said, block)
    if lo < 0:
        return Decision(False, "the CI includes a loss " + said, block)
    return Decision(True, "the CI excludes a loss " + said, block)


def promote_shadow(registry: Registry, decision: Decision) -> None:
    """Serve the challenger and stop shadowing (it is the champion now)."""
    challenger = registry.shadow()
    assert challenger is not None and decision.promote
    registry.promote(challenger)
    registry.set_shadow(None)
