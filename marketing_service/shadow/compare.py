"""§13's `shadow` block: champion and challenger on the same labelled rows (outcomes joined to the challenger's
probability by prediction_id), with the weights of the realized quality, by `quality.shadow_comparison`."""
from __future__ import annotations

from typing import Any

from marketing_service.quality import shadow_comparison
from marketing_service.storage import Connection

# The pair to report: of those with labelled rows, the one churn scored most recently (a new SHADOW replaces it).
_PAIR = """SELECT s.champion, s.challenger FROM outcomes o JOIN shadow_scores s ON s.prediction_id = o.prediction_id
           WHERE o.model_version = s.champion GROUP BY s.champion, s.challenger
           ORDER BY MAX(s.received_at) DESC, s.champion, s.challenger LIMIT 1"""
_ROWS = """SELECT o.churn_probability, s.probability, o.churned, o.propensity, o.treated
           FROM outcomes o JOIN shadow_scores s ON s.prediction_id = o.prediction_id
           WHERE o.model_version = ? AND s.champion = ? AND s.challenger = ? ORDER BY o.id"""


def shadow_block(conn: Connection) -> dict[str, Any] | None:
    """{"champion", "challenger", "n", "champion_auc", "challenger_auc", "difference", "ci95"}, or None until both
    models have labelled untreated rows of each class."""
    pair = conn.execute(_PAIR).fetchone()
    if pair is None:
        return None
    champion, challenger = pair[0], pair[1]
    rows = [(float(r[0]), float(r[1]), int(r[2]), float(r[3]), int(r[4]))
            for r in conn.execute(_ROWS, (champion, champion, challenger))]
    compared = shadow_comparison(rows, skip_impossible=True)
    return None if compared is None else {"champion": champion, "challenger": challenger, **compared.as_dict()}
