"""Each rule is written once (DESIGN §10); these tests fail when a second copy appears or drifts.

The customerid rule and `churn = p >= threshold` are asked of every path that applies them, at the edge
where copies differ; the drift thresholds churn publishes are the ones the Model page draws and Prometheus
alerts on; "may this customer get an offer now?" is asked in one module; settings are read in config.py.
"""
from __future__ import annotations

import ast
import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pytest
import yaml
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from churn_service import create_app
from churn_service.config import ChurnConfig
from churn_service.drift.thresholds import ALERT, THRESHOLDS, WARN
from churn_service.model.kernel import build_kernel
from churn_service.serving import load_serving
from churn_service.spark.columns import score_batch
from churn_service.spark.rows import BroadcastModel, score_rows
from feature_contract import CUSTOMER_ID_MAX, InvalidRecord, all_customer_ids, is_customer_id, parse_record, parse_record_in_full
from marketing_service.customers.records import customer_id
from marketing_service.offers.targets import is_target
from marketing_service.web.model_page import BAR_FULL_PSI, BAR_PX, threshold_marks
from tests.helpers import REPO
from tests.samples import LIKELY_CHURNER

PACKAGES = ("churn_service", "marketing_service", "train", "http_common", "feature_contract")
CSV_SPELLING = {"Contract": "Month-to-month", "InternetService": "Fiber optic", "PaymentMethod": "Electronic check"}


@pytest.fixture(scope="module")
def client(model_dir: Path) -> FlaskClient:
    return create_app(ChurnConfig(model_path=model_dir / "model.bin", max_batch=1000)).test_client()


# --- customerid -------------------------------------------------------------------------------------------

ids = st.one_of(st.text(max_size=CUSTOMER_ID_MAX + 3), st.integers(), st.floats(allow_nan=False), st.booleans(),
                st.lists(st.text(max_size=2), max_size=2), st.just(""), st.just("x" * CUSTOMER_ID_MAX))


def accepted(parse: Any, value: Any) -> bool:
    try:
        parse({**LIKELY_CHURNER, "customerid": value})
    except InvalidRecord:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(value=ids)
def test_every_parser_accepts_exactly_the_customerids_the_contract_does(value: Any) -> None:
    expected = is_customer_id(value)
    assert accepted(parse_record, value) == expected, "fast path"
    assert accepted(parse_record_in_full, value) == expected, "full path"
    if isinstance(value, str):
        assert all_customer_ids([value, None, "C-1"]) == expected, "batch kernel"
        if value == value.strip() and value.isprintable():
            try:
                customer_id(value)
                stored = True
            except ValueError:
                stored = False
            assert stored == expected, "marketing's records"


@settings(max_examples=100, deadline=None)
@given(value=ids)
def test_the_service_answers_a_customerid_the_same_on_the_fast_and_the_full_path(client: FlaskClient, value: Any) -> None:
    canonical = client.post("/predict", json={**LIKELY_CHURNER, "customerid": value})
    batch = client.post("/predict/batch", json={"customers": [{**LIKELY_CHURNER, "customerid": value},
                                                              {**LIKELY_CHURNER, "customerid": "C-1"}]})
    expected = 200 if is_customer_id(value) else 422
    assert (canonical.status_code, batch.status_code) == (expected, expected), (canonical.json, batch.json)
    if expected == 200:
        assert canonical.json["customerid"] == value and batch.json["predictions"][0]["customerid"] == value


# --- p >= threshold ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def at_threshold(model_dir: Path, tmp_path_factory: pytest.TempPathFactory, client: FlaskClient) -> Iterator[Any]:
    """A copy of the model whose manifest threshold is set, per call, to exactly a customer's probability
    (or the next double above it): the one input where `>=` and `>` copies disagree."""
    probability = client.post("/predict", json=LIKELY_CHURNER).json["churn_probability"]
    folder = tmp_path_factory.mktemp("threshold-model")
    for name in ("model.bin", "model.json"):
        shutil.copy(model_dir / name, folder / name)

    def with_threshold(threshold: float) -> FlaskClient:
        manifest = json.loads((folder / "model.json").read_text())
        (folder / "model.json").write_text(json.dumps({**manifest, "threshold": threshold}))
        return create_app(ChurnConfig(model_path=folder / "model.bin", max_batch=1000)).test_client()

    yield probability, folder, with_threshold


def every_paths_decision(service: FlaskClient, folder: Path, probability: float) -> dict[str, bool]:
    csv_spelled = {**LIKELY_CHURNER, **CSV_SPELLING}
    for key in ("contract", "internetservice", "paymentmethod"):
        csv_spelled.pop(key)
    answers = {
        "single, fast path": service.post("/predict", json=LIKELY_CHURNER).json,
        "single, full path": service.post("/predict", json=csv_spelled).json,
        "batch, one pass": service.post("/predict/batch", json={"customers": [LIKELY_CHURNER] * 3}).json["predictions"][0],
        "batch, record by record": service.post("/predict/batch", json={"customers": [csv_spelled] * 3}).json["predictions"][0],
    }
    decisions = {path: answer["churn"] for path, answer in answers.items()}
    assert {answer["churn_probability"] for answer in answers.values()} == {probability}
    serving = load_serving(folder / "model.bin")
    model = BroadcastModel(serving.version, serving.threshold, serving.scorer)
    record = {**LIKELY_CHURNER, "customerid": "C-1"}
    (row,) = score_rows([record], model, from_csv=False)  # the job's path for a row the column path passes on
    assert row[2] == probability, row
    decisions["spark job, row path"] = bool(row[3])
    (column,) = score_batch(pa.RecordBatch.from_pylist([record]), model, build_kernel(serving.scorer),
                            from_csv=False).to_pylist()
    assert (column["status"], column["probability"]) == ("scored", probability), column
    decisions["spark job, column path"] = column["decision"]
    decisions["marketing, campaign threshold"] = is_target("threshold", serving.threshold, False, probability, 0.0)
    return decisions


def test_a_probability_exactly_at_the_threshold_is_churn_on_every_path(at_threshold: Any) -> None:
    probability, folder, with_threshold = at_threshold
    decisions = every_paths_decision(with_threshold(probability), folder, probability)
    assert decisions == dict.fromkeys(decisions, True)


def test_a_probability_one_step_below_the_threshold_is_not_churn_on_any_path(at_threshold: Any) -> None:
    probability, folder, with_threshold = at_threshold
    decisions = every_paths_decision(with_threshold(math.nextafter(probability, 1.0)), folder, probability)
    assert decisions == dict.fromkeys(decisions, False)


# --- drift thresholds -------------------------------------------------------------------------------------

def test_churn_publishes_its_drift_thresholds_and_the_model_page_draws_exactly_those(client: FlaskClient) -> None:
    drift = client.get("/drift").json
    assert drift["thresholds"] == THRESHOLDS == {"warn": WARN, "alert": ALERT}
    assert dict(threshold_marks(drift)) == {name: round(value / BAR_FULL_PSI * BAR_PX) for name, value in THRESHOLDS.items()}
    moved = {**drift, "thresholds": {"warn": 0.15, "alert": 0.3}}
    expected = {"warn": round(0.15 / BAR_FULL_PSI * BAR_PX), "alert": round(0.3 / BAR_FULL_PSI * BAR_PX)}
    assert dict(threshold_marks(moved)) == expected, "the page follows what churn publishes, not numbers of its own"


def test_prometheus_alerts_on_drift_at_the_alert_threshold_churn_publishes() -> None:
    rules = yaml.safe_load((REPO / "monitoring" / "rules.yml").read_text())
    drift_exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"] if "_psi" in rule["expr"]]
    assert len(drift_exprs) == 2
    for expr in drift_exprs:
        assert float(expr.rsplit(">=", 1)[1]) == ALERT, expr


# --- where rules live -------------------------------------------------------------------------------------

def python_files(*packages: str) -> Iterator[Path]:
    for package in packages:
        yield from (path for path in (REPO / package).rglob("*.py") if "__pycache__" not in path.parts)


def environment_reads(tree: ast.AST) -> list[int]:
    """Lines that read os.environ / os.getenv (a write, `os.environ[k] = v` or setdefault, is not a read)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "getenv":
            lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ" and isinstance(node.ctx, ast.Load):
            lines.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                ast.unparse(node.func.value) == "os.environ" and node.func.attr in ("get", "copy", "items", "pop"):
            lines.append(node.lineno)
    return lines


def test_settings_are_read_from_the_environment_only_through_the_env_helper() -> None:
    readers = {str(path.relative_to(REPO)): lines for path in python_files(*PACKAGES)
               if (lines := environment_reads(ast.parse(path.read_text())))}
    assert readers == {}, "read settings in config.py through http_common.env.Env"
    users = {path.parent.name for path in python_files(*PACKAGES) if "Env(" in path.read_text() and path.name != "env.py"}
    assert users <= {"churn_service", "marketing_service", "train", "http_common"}
    for path in python_files(*PACKAGES):
        if "Env(" in path.read_text() and path.name != "env.py":
            assert path.name in ("config.py", "server_settings.py"), f"{path} reads settings outside config.py"


def test_only_the_offer_rules_read_suppressions_or_count_recent_offers() -> None:
    for path in python_files("marketing_service"):
        text = path.read_text()
        where = path.relative_to(REPO).as_posix()
        if where in ("marketing_service/offers/rules.py",) or "/storage/" in where:
            continue
        assert "FROM suppressions" not in text, f"{where} checks suppression itself: ask offers.rules.blocked"
        assert "created_at >" not in text or "FROM offers" not in text, f"{where} counts recent offers itself"


def test_only_the_contract_compares_a_probability_with_a_threshold() -> None:
    for path in python_files("churn_service", "marketing_service", "train"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.GtE, ast.Gt, ast.Lt, ast.LtE)) for op in node.ops):
                text = ast.unparse(node)
                assert not ("threshold" in text and "prob" in text), f"{path}:{node.lineno}: `{text}`: use churns()"
