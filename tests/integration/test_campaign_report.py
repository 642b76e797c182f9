"""The experiment report of DESIGN §14 over real gunicorn: a campaign, outcomes posted in two uploads (two looks),
then GET /api/campaigns/<id>/report recomputed here from results.csv and the outcomes sent, from the definitions
(not by calling stats.py), and its uplift metrics against scikit-uplift 0.5.1 itself; the sample-ratio check on
a split forced off its design; the report before outcomes; the plan of a list before launch; the page's words."""
from __future__ import annotations

import csv
import io
import math
import random
import time
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest

from tests.helpers import Marketing, fetch_all, wait_for
from tests.integration.campaign_files import finished, telco_csv, upload

BACKENDS = ("sqlite", "postgres")  # the report's one query runs on both (integration/conftest.py)
Z = NormalDist().inv_cdf(0.975)
REPORT_KEYS = {"campaign_id", "mode", "score", "assigned", "offered", "holdout", "difference", "ci95", "customers_kept",
               "wald95", "sequence95", "cuped", "srm", "uplift_metrics", "qini_curve", "looks"}


def results(server: Marketing, campaign_id: int) -> list[dict[str, str]]:
    text = server.http.get(f"{server.url}/api/campaigns/{campaign_id}/results.csv", timeout=10).text
    return list(csv.DictReader(io.StringIO(text)))


def post_outcomes(server: Marketing, campaign_id: int, outcomes: dict[str, int]) -> dict[str, Any]:
    body = "customerid,churned\n" + "".join(f"{c},{v}\n" for c, v in outcomes.items())
    answer = server.http.post(f"{server.url}/api/campaigns/{campaign_id}/outcomes", data=body,
                              headers={"Content-Type": "text/csv"}, timeout=60)
    assert answer.status_code == 200, answer.text[:500]
    return answer.json()


def get_report(server: Marketing, campaign_id: int) -> dict[str, Any]:
    answer = server.http.get(f"{server.url}/api/campaigns/{campaign_id}/report", timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json", answer.text[:500]
    assert "NaN" not in answer.text and "Infinity" not in answer.text
    return answer.json()


def wald(y_o: np.ndarray, y_h: np.ndarray) -> list[float]:
    p_o, p_h = y_o.mean(), y_h.mean()
    half = Z * math.sqrt(p_o * (1 - p_o) / y_o.size + p_h * (1 - p_h) / y_h.size)
    return [p_o - p_h - half, p_o - p_h + half]


def sequence(y_o: np.ndarray, y_h: np.ndarray, alpha: float = 0.05, rho2: float = 0.001587230920347513) -> list[float]:
    """Howard, Ramdas, McAuliffe, Sekhon (2021)'s two-sided normal-mixture boundary in intrinsic time,
    u(v) = sqrt((v + ρ′) ln((v + ρ′)/(ρ′ α²))), for the standardized sum of the t pseudo-outcomes (v = t, ρ′ = 1/ρ²,
    ρ² = stats.py's stated tuning for 5,000 observations, written out), scaled back to the difference:
    σ̂ · u(t)/t with σ̂² = t · V, V the per-arm variance p̃(1 − p̃)/n, p̃ = (successes + ½)/(n + 1)."""
    t = y_o.size + y_h.size
    q_o, q_h = (y_o.sum() + 0.5) / (y_o.size + 1), (y_h.sum() + 0.5) / (y_h.size + 1)
    sigma = math.sqrt(t * (q_o * (1 - q_o) / y_o.size + q_h * (1 - q_h) / y_h.size))
    rho_prime = 1 / rho2
    u = math.sqrt((t + rho_prime) * math.log((t + rho_prime) / (rho_prime * alpha**2)))
    half = sigma * u / t
    difference = y_o.mean() - y_h.mean()
    return [max(-1.0, difference - half), min(1.0, difference + half)]


def cuped(y: np.ndarray, x: np.ndarray, offered: np.ndarray) -> tuple[float, float, list[float]]:
    theta = np.cov(y, x, bias=True)[0, 1] / x.var()
    adjusted = y - theta * (x - x.mean())
    a_o, a_h = adjusted[offered], adjusted[~offered]
    difference = a_o.mean() - a_h.mean()
    half = Z * math.sqrt(a_o.var() / a_o.size + a_h.var() / a_h.size)
    return theta, difference, [difference - half, difference + half]


@pytest.fixture(scope="module")
def labelled(marketing: Marketing) -> dict[str, Any]:
    """A campaign of 3,000 customers, half of the targeted held out; outcomes drawn with churn less likely when
    offered (0.6 p vs p), posted in two uploads: 40 % of them, then the rest."""
    status = finished(marketing, upload(marketing, telco_csv(3000, prefix="RPT"), threshold="0.3",
                                        holdout="0.5").json()["id"])
    rows = [r for r in results(marketing, status["id"]) if r["decision"] in ("offer", "holdout")]
    rng = random.Random(14)
    churned = {r["customerid"]: int(rng.random() < float(r["churn_probability"]) * (0.6 if r["decision"] == "offer" else 1))
               for r in rows}
    ids = list(churned)
    rng.shuffle(ids)
    first = ids[: len(ids) * 2 // 5]
    post_outcomes(marketing, status["id"], {c: churned[c] for c in first})
    # Stamps are whole seconds, and a look is a stamp: the second upload comes in a later second.
    posted = int(time.time())
    wait_for(lambda: int(time.time()) > posted, timeout=3, what="the next second")
    post_outcomes(marketing, status["id"], {c: churned[c] for c in ids[len(first):]})
    return {"status": status, "rows": in_report_order(rows), "churned": churned, "first": set(first),
            "report": get_report(marketing, status["id"])}


def in_report_order(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The report's order on every backend: a stable numpy sort of the customerid strings (code points), not SQL's
    ORDER BY (a collation); uplift at k cuts through tied scores in it."""
    order = np.argsort(np.array([r["customerid"] for r in rows], dtype=np.str_), kind="stable")
    return [rows[i] for i in order]


def arrays(rows: list[dict[str, str]], churned: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.array([1 - churned[r["customerid"]] for r in rows], dtype=float)
    offered = np.array([r["decision"] == "offer" for r in rows])
    x = np.array([float(r["churn_probability"]) for r in rows])
    return y, offered, x


def test_the_report_has_its_keys_and_the_groups_of_the_outcomes_report(labelled: dict[str, Any]) -> None:
    report, status = labelled["report"], labelled["status"]
    assert set(report) == REPORT_KEYS and report["mode"] == "threshold" and report["score"] == "churn_probability"
    assert report["assigned"] == {"offered": status["offers"], "holdout": status["holdout"]}
    assert status["offers"] > 300 and status["holdout"] > 300, status
    y, offered, _ = arrays(labelled["rows"], labelled["churned"])
    assert report["offered"]["customers"] == offered.sum() and report["holdout"]["customers"] == (~offered).sum()
    assert report["offered"]["churn_rate"] == pytest.approx(1 - y[offered].mean(), abs=1e-12)
    # DESIGN §14's difference, mean(retained | offered) − mean(retained | holdout), is the §8 report's.
    assert report["difference"] == pytest.approx(y[offered].mean() - y[~offered].mean(), abs=1e-12)
    assert report["customers_kept"] == pytest.approx(report["difference"] * offered.sum(), abs=1e-9)


def test_both_intervals_and_cuped_match_their_definitions(labelled: dict[str, Any]) -> None:
    report = labelled["report"]
    y, offered, x = arrays(labelled["rows"], labelled["churned"])
    assert report["wald95"] == pytest.approx(wald(y[offered], y[~offered]), abs=1e-12)
    assert report["ci95"] == pytest.approx(report["wald95"], abs=1e-12)
    assert report["sequence95"] == pytest.approx(sequence(y[offered], y[~offered]), abs=1e-12)
    lo, hi = report["sequence95"]
    assert lo < report["wald95"][0] and report["wald95"][1] < hi  # valid at every look, so wider
    theta, difference, ci95 = cuped(y, x, offered)
    assert report["cuped"]["theta"] == pytest.approx(theta, abs=1e-12) and theta < 0  # likely churners stay less
    assert report["cuped"]["difference"] == pytest.approx(difference, abs=1e-12)
    assert report["cuped"]["ci95"] == pytest.approx(ci95, abs=1e-12)
    assert ci95[1] - ci95[0] < report["wald95"][1] - report["wald95"][0]  # the score explains some of y


def test_each_look_is_the_lift_of_the_outcomes_recorded_by_then(labelled: dict[str, Any]) -> None:
    first, last = labelled["report"]["looks"]
    assert first["recorded_at"] < last["recorded_at"]
    rows = [r for r in labelled["rows"] if r["customerid"] in labelled["first"]]
    y, offered, _ = arrays(rows, labelled["churned"])
    assert (first["offered"], first["holdout"]) == (offered.sum(), (~offered).sum())
    assert first["difference"] == pytest.approx(y[offered].mean() - y[~offered].mean(), abs=1e-12)
    assert first["wald95"] == pytest.approx(wald(y[offered], y[~offered]), abs=1e-12)
    assert first["sequence95"] == pytest.approx(sequence(y[offered], y[~offered]), abs=1e-12)
    report = labelled["report"]
    assert last["difference"] == pytest.approx(report["difference"], abs=1e-12)
    assert (last["wald95"], last["sequence95"]) == (report["wald95"], report["sequence95"])


@pytest.mark.filterwarnings("ignore::FutureWarning")  # sklift 0.5.1 calls scikit-learn's deprecated stable_cumsum
def test_the_uplift_metrics_are_scikit_uplifts(labelled: dict[str, Any]) -> None:
    from sklift.metrics import qini_auc_score, uplift_at_k, uplift_auc_score

    y, offered, score = arrays(labelled["rows"], labelled["churned"])  # in customerid order, as the report ranks
    t = offered.astype(int)
    metrics = labelled["report"]["uplift_metrics"]
    assert metrics["qini_auc"] == pytest.approx(qini_auc_score(y, score, t), abs=1e-9)
    assert metrics["uplift_auc"] == pytest.approx(uplift_auc_score(y, score, t), abs=1e-9)
    for strategy in ("overall", "by_group"):
        for key, k in (("10", 0.1), ("20", 0.2), ("30", 0.3)):
            expected = uplift_at_k(y, score, t, strategy=strategy, k=k)
            assert metrics["uplift_at_k"][strategy][key] == pytest.approx(expected, abs=1e-9), (strategy, key)
    curve = labelled["report"]["qini_curve"]
    assert len(curve["share"]) == len(curve["model"]) == len(curve["random"]) == 101
    assert curve["model"][0] == 0 and curve["model"][-1] == pytest.approx(curve["random"][-1])


def test_the_page_says_it_in_words_with_two_pictures(marketing: Marketing, labelled: dict[str, Any]) -> None:
    page = marketing.http.get(f"{marketing.url}/campaigns/{labelled['status']['id']}", timeout=10).text
    assert 'id="qini-chart"' in page and 'id="lift-chart"' in page and page.count('class="look"') == 2
    assert "more customers in 100 (95 % interval" in page or "more in 100 (95 % interval" in page
    assert "an interval that stays valid however often you look" in page and "The split went as designed" in page
    assert "CUPED" in page and "Qini coefficient" in page and "Uplift AUC" in page and "Uplift at 30 %" in page


def test_before_outcomes_the_report_has_counts_and_nulls_then_flags_a_split_off_its_design(marketing: Marketing) -> None:
    status = finished(marketing, upload(marketing, telco_csv(600, prefix="SRM"), threshold="0.3", holdout="0.5").json()["id"])
    report = get_report(marketing, status["id"])
    assert set(report) == REPORT_KEYS
    assert report["assigned"] == {"offered": status["offers"], "holdout": status["holdout"]}
    assert report["offered"] == {"customers": 0, "churned": 0, "churn_rate": None}
    assert (report["difference"], report["ci95"], report["wald95"], report["sequence95"], report["qini_curve"],
            report["looks"]) == (None, None, None, None, None, [])
    assert report["cuped"] == {"theta": None, "difference": None, "ci95": None}
    assert report["uplift_metrics"]["qini_auc"] is None and report["uplift_metrics"]["uplift_at_k"]["overall"]["30"] is None
    assert report["srm"]["flagged"] is False and report["srm"]["p_value"] > 0.001

    # Nothing in the service breaks the hash split, so the test does: most of the holdout becomes "offered".
    moved = fetch_all(marketing.db, "UPDATE campaign_rows SET decision = 'offer' WHERE campaign_id = ?"
                      " AND decision = 'holdout' AND line % 5 != 0 RETURNING line", status["id"])
    assert len(moved) > status["holdout"] // 2
    flagged = get_report(marketing, status["id"])
    assert flagged["srm"]["flagged"] is True and flagged["srm"]["p_value"] < 0.001
    assert flagged["assigned"]["offered"] + flagged["assigned"]["holdout"] == status["offers"] + status["holdout"]
    page = marketing.http.get(f"{marketing.url}/campaigns/{status['id']}", timeout=10).text
    assert "Warning: the split is off its design" in page


def test_an_unknown_campaign_is_a_404_in_json(marketing: Marketing) -> None:
    answer = marketing.http.get(f"{marketing.url}/api/campaigns/987654/report", timeout=10)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


def plan(server: Marketing, body: bytes, **settings: str) -> dict[str, Any]:
    answer = server.http.post(f"{server.url}/api/campaigns/plan", files={"file": ("list.csv", body, "text/csv")},
                              data=settings, timeout=60)
    assert answer.status_code == 200, answer.text[:500]
    return answer.json()


def test_the_plan_gives_the_split_and_its_minimum_detectable_effect(marketing: Marketing) -> None:
    small = plan(marketing, telco_csv(300, prefix="PLS"), threshold="0.3", holdout="0.1")
    assert (small["rows"], small["sampled"]) == (300, 300) and small["targeted"] > 0
    assert small["offered"] + small["holdout"] == small["targeted"]
    p = small["churn_rate"]
    expected = (Z + NormalDist().inv_cdf(0.8)) * math.sqrt(p * (1 - p) * (1 / small["offered"] + 1 / small["holdout"]))
    assert small["mde"] == pytest.approx(expected, rel=1e-12) and small["mde"] > 0.05
    assert "more than 5 points" in small["warning"]
    # a budget keeps the highest expected values, so the MDE's base rate is theirs, not that of every target
    budget = plan(marketing, telco_csv(300, prefix="PLS"), threshold="0.3", holdout="0.1", max_offers="20")
    assert budget["targeted"] == 20 and budget["churn_rate"] > p

    large = plan(marketing, telco_csv(12_000, prefix="PLL"), threshold="0.3", holdout="0.5")
    assert (large["rows"], large["sampled"]) == (12_000, 5000)
    assert large["mde"] < 0.05 and large["warning"] is None
    assert abs(large["targeted"] / 12_000 - small["targeted"] / 300) < 0.05  # the sample's share, scaled

    none_held = plan(marketing, telco_csv(50, prefix="PLN"), holdout="0")
    assert none_held["mde"] is None and "nothing to compare" in none_held["warning"]
    by_uplift = plan(marketing, telco_csv(50, prefix="PLU"), mode="uplift")
    assert (by_uplift["rows"], by_uplift["mde"]) == (50, None) and "uplift" in by_uplift["warning"]


def test_the_plan_refuses_what_a_campaign_refuses(marketing: Marketing) -> None:
    answer = marketing.http.post(f"{marketing.url}/api/campaigns/plan", files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")},
                                 timeout=10)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_upload"
    answer = marketing.http.post(f"{marketing.url}/api/campaigns/plan", data={"holdout": "2"}, timeout=10)
    assert answer.status_code == 422


def test_without_scripts_check_the_plan_renders_the_form_with_it(marketing: Marketing) -> None:
    answer = marketing.http.post(f"{marketing.url}/campaigns", files={"file": ("list.csv", telco_csv(200, prefix="PLF"),
                                                                               "text/csv")},
                                 data={"name": "planned", "holdout": "0.1", "action": "plan"}, timeout=60)
    assert answer.status_code == 200 and 'id="plan-mde"' in answer.text and 'id="plan-warning"' in answer.text
    assert 'value="planned"' in answer.text  # the form keeps what was typed
