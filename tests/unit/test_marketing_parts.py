"""Marketing's parts on their own: the churn client's reading of answers, the writer queue, the mailer."""
from __future__ import annotations

import email
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from marketing_service.churn_client import ChurnClient, ChurnRejected, ChurnUnavailable
from marketing_service.mail.mailers import LogMailer
from marketing_service.mail.message import render
from marketing_service.storage.write_queue import WriteQueue
from tests.stub_churn import StubChurn, scored

RECORD = {"tenure": 1}


def client_for(url: str) -> ChurnClient:
    return ChurnClient(url, connect_timeout=1, read_timeout=2)


def test_a_batch_refusal_names_the_refused_records_by_their_index_in_the_whole_call() -> None:
    def refuse_the_bad_one(path: str, body: Any) -> tuple[int, Any]:
        bad = [i for i, record in enumerate(body["customers"]) if record["tenure"] == "bad"]
        if not bad:
            return scored()(path, body)
        return 422, {"error": {"code": "invalid_record", "message": "bad", "details": [
            {"index": i, "field": "tenure", "message": "must be a number"} for i in bad]}}

    with StubChurn(refuse_the_bad_one) as churn:
        with pytest.raises(ChurnRejected) as caught:
            ChurnClient(churn.url, 1, 2, batch_chunk=2).score([RECORD, RECORD, RECORD, {"tenure": "bad"}])
    assert caught.value.reasons == {3: "tenure: must be a number"}  # index 1 of the second chunk of two
    assert caught.value.reason_for(0) is None


@pytest.mark.parametrize(("status", "body"), [(503, {"error": "down"}), (429, {}), (200, {"churn": True}),
                                              (200, {"predictions": []}), (200, "text")])
def test_anything_but_a_complete_answer_or_a_refusal_is_unavailable(status: int, body: Any) -> None:
    with StubChurn(lambda path, sent: (status, body)) as churn:
        with pytest.raises(ChurnUnavailable):
            client_for(churn.url).score([RECORD, RECORD] if isinstance(body, dict) and "predictions" in body else [RECORD])


def test_a_complete_answer_gives_one_score_per_record_in_order() -> None:
    with StubChurn(scored(0.7, "v9")) as churn:
        scores = client_for(churn.url).score([RECORD] * 3)
    assert [(s.churn_probability, s.churn, s.model_version) for s in scores] == [(0.7, True, "v9")] * 3


def test_a_writer_queue_turn_held_too_long_is_a_busy_error(tmp_path: Path) -> None:
    queue = WriteQueue(tmp_path / "m.db")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with queue.turn(5):
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        with pytest.raises(sqlite3.OperationalError) as caught, queue.turn(0.2):
            pass
        assert caught.value.sqlite_errorname == "SQLITE_BUSY"
    finally:
        release.set()
        holder.join(5)


def test_the_log_mailer_writes_one_eml_per_offer_and_a_retry_replaces_it(tmp_path: Path) -> None:
    mailer = LogMailer(tmp_path / "mail")
    offer = {"id": 7, "campaign": "retention", "to_addr": "ann@example.com", "subject": "3 months free", "body": "Hi\n",
             "message_id": "<offer-7.retention@example.com>"}
    for _ in range(2):
        mailer.send(render(offer, "Offers <offers@example.com>", "http://marketing.test/unsubscribe/t"), 7)
    files = list((tmp_path / "mail").iterdir())
    assert [f.name for f in files] == ["offer-7.eml"]
    assert files[0].stat().st_mode & 0o777 == 0o644
    message = email.message_from_bytes(files[0].read_bytes())
    assert message["To"] == "ann@example.com" and message["X-Offer-Id"] == "7"
    assert message["Message-ID"] == "<offer-7.retention@example.com>"
