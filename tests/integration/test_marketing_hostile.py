"""Hostile input to marketing (issue 26), refused in process: integers past float range and lone surrogates
in every field and setting get a 422 naming the field (the form: re-rendered with it marked), never a 500, and
such a record reaches neither the database nor churn's metrics; a campaign upload is stored as it is read,
rejects included, so memory does not grow with the rejects and a file that fails late leaves nothing behind;
a `log` mail that cannot be written leaves no temporary file. (The 50 MB upload beside live intake, outcome
files and churn refusing marketing run against real processes: test_marketing_hostile_live.py.)"""
from __future__ import annotations

import io
import json
import re
import resource
import signal
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from harness.customer_lists import telco_csv
from marketing_service.campaigns import store
from marketing_service.campaigns.settings import LIMITS, CampaignSettings, InvalidSettings, parse_settings
from marketing_service.campaigns.upload import Refusal, csv_rows, json_rows
from marketing_service.customers.records import Customer, InvalidCustomer, parse_customer
from marketing_service.mail.mailers import LogMailer
from marketing_service.mail.message import Mail
from tests.helpers import Gunicorn, count, customer
from tests.in_process import Answer, InProcess
from tests.samples import LOYAL_CUSTOMER

JSON = {"Content-Type": "application/json"}
HUGE = "1" * 400  # an integer JSON allows and no float holds
NUMERIC_FIELDS = ("tenure", "monthlycharges", "totalcharges", "seniorcitizen")
TEXT_FIELDS = ("customerid", "name", "email", "contract", "gender", "paymentmethod")


def with_raw(record: dict, field: str, raw_json: str) -> bytes:
    """The record as JSON with `field`'s value written as `raw_json`, as a client could send it."""
    return json.dumps({**record, field: "@@"}).replace('"@@"', raw_json).encode()


def predictions_counted(churn: Gunicorn) -> float:
    metrics = requests.get(churn.url + "/metrics", timeout=5).text
    return sum(float(v) for v in re.findall(r"^churn_predictions_total\{[^}]*\} (\S+)$", metrics, re.M))


def refused(service: InProcess, response: Answer, field: str, before: int, statuses: tuple[int, ...] = (422,)) -> None:
    assert response.status_code in statuses, response.text[:300]
    assert field in [d["field"] for d in response.json()["error"]["details"]], response.text[:300]
    assert count(service.db, "SELECT COUNT(*) FROM customers") == before


# A lone surrogate is refused as the JSON is read (http_common.errors.parse_json: 400 `invalid_text`, naming where
# it is) for both services; marketing's record check refuses it too (422) for anything that gets past that.
SURROGATE_REFUSALS = (400, 422)


@pytest.mark.parametrize("raw", [HUGE, "-" + HUGE, f"{HUGE}.5", "1e400"])
@pytest.mark.parametrize("field", NUMERIC_FIELDS)
def test_a_number_past_float_range_is_a_422_naming_the_field(marketing_app: InProcess, churn: Gunicorn, field: str,
                                                             raw: str) -> None:
    before, counted = count(marketing_app.db, "SELECT COUNT(*) FROM customers"), predictions_counted(churn)
    body = with_raw(customer(LOYAL_CUSTOMER, "BIG-1"), field, raw)
    refused(marketing_app, marketing_app.post("/api/customers", data=body, headers=JSON), field, before)
    batch = b'{"customers": [' + body + b"]}"
    refused(marketing_app, marketing_app.post("/api/customers", data=batch, headers=JSON), field, before)
    assert predictions_counted(churn) == counted


@pytest.mark.parametrize("field", NUMERIC_FIELDS)
def test_the_form_marks_a_400_digit_number_and_keeps_the_rest(marketing_app: InProcess, field: str) -> None:
    page = marketing_app.get("/").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "the form carries a CSRF token"
    before = count(marketing_app.db, "SELECT COUNT(*) FROM customers")
    form = {k: str(v) for k, v in customer(LOYAL_CUSTOMER, "BIGFORM-1").items()}
    response = marketing_app.post("/", data={**form, field: HUGE, "csrf_token": token[1]})
    assert response.status_code == 422, response.text[:300]
    assert f'aria-invalid="true" aria-describedby="{field}-error"' in response.text
    assert re.findall(r'aria-describedby="([a-z]+)-error"', response.text) == [field]  # only that field is marked
    assert count(marketing_app.db, "SELECT COUNT(*) FROM customers") == before


@pytest.mark.parametrize("field", [*LIMITS, "name"])
def test_a_campaign_setting_past_float_range_is_a_422_naming_it(marketing_app: InProcess, field: str) -> None:
    before = count(marketing_app.db, "SELECT COUNT(*) FROM campaigns")
    settings = {"name": "huge", "customers": [customer(LOYAL_CUSTOMER, "BIGSET-1")]}
    answer = marketing_app.post("/api/campaigns", data=with_raw(settings, field, HUGE), headers=JSON)
    assert answer.status_code == 422, answer.text[:300]
    assert [d["field"] for d in answer.json()["error"]["details"]] == [field]
    multipart = marketing_app.post("/api/campaigns", content_type="multipart/form-data", data={
        "file": (io.BytesIO(telco_csv(2)), "customers.csv", "text/csv"), "name": "huge", field: HUGE})
    if field != "name":  # a 400-character name is refused as too long, which is right too
        assert multipart.status_code == 422, multipart.text[:300]
        assert [d["field"] for d in multipart.json()["error"]["details"]] == [field]
    assert count(marketing_app.db, "SELECT COUNT(*) FROM campaigns") == before


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_a_lone_surrogate_is_a_422_before_churn_counts_the_record(marketing_app: InProcess, churn: Gunicorn,
                                                                  field: str) -> None:
    before, counted = count(marketing_app.db, "SELECT COUNT(*) FROM customers"), predictions_counted(churn)
    record = customer(LOYAL_CUSTOMER, "SUR-1")
    body = with_raw(record, field, json.dumps(f"{record[field]}x")[:-1] + '\\ud800"')
    refused(marketing_app, marketing_app.post("/api/customers", data=body, headers=JSON), field, before,
            SURROGATE_REFUSALS)
    assert predictions_counted(churn) == counted


@pytest.mark.parametrize("field", ["customerid", "name", "email"])
def test_the_record_check_refuses_a_lone_surrogate_whatever_the_transport(field: str) -> None:
    record = {**customer(LOYAL_CUSTOMER, "SUR-2"), field: "sur-2@example.com\ud800"}
    with pytest.raises(InvalidCustomer) as refusal:
        parse_customer(record)
    assert list(refusal.value.errors) == [field] and "Unicode" in refusal.value.errors[field]


def test_lone_surrogates_in_a_campaign_are_named_and_never_stored_raw(marketing_app: InProcess) -> None:
    before = count(marketing_app.db, "SELECT COUNT(*) FROM campaigns")
    customers = [customer(LOYAL_CUSTOMER, "SURC-1"), customer(LOYAL_CUSTOMER, "SURC-2")]
    named = marketing_app.post("/api/campaigns", data=b'{"name": "a\\ud800b", "customers": %s}'
                               % json.dumps(customers).encode(), headers=JSON)
    assert named.status_code in SURROGATE_REFUSALS and named.json()["error"]["details"][0]["field"] == "name"
    with pytest.raises(InvalidSettings) as refusal:
        parse_settings({"name": "a\ud800b"})
    assert list(refusal.value.errors) == ["name"]
    encoded = telco_csv(2).replace(b"Customer 1", b"Customer \xed\xa0\x80")  # a surrogate spelled in UTF-8 bytes
    as_csv = marketing_app.post("/api/campaigns", content_type="multipart/form-data", data={
        "file": (io.BytesIO(encoded), "customers.csv", "text/csv"), "name": "surrogate"})
    assert as_csv.status_code == 422 and "UTF-8" in as_csv.json()["error"]["message"]
    assert count(marketing_app.db, "SELECT COUNT(*) FROM campaigns") == before

    body = json.dumps({"name": "surrogate rows", "customers": customers}).replace("SURC-2", "SURC-\\ud800")
    in_a_row = marketing_app.post("/api/campaigns", data=body.encode(), headers=JSON)
    assert in_a_row.status_code in SURROGATE_REFUSALS, in_a_row.text[:300]
    assert "customerid" in in_a_row.json()["error"]["details"][0]["field"]
    assert count(marketing_app.db, "SELECT COUNT(*) FROM campaigns") == before
    # Had such a row got through, it would be listed among the rejects under its escaped id, not break the upload.
    [(_, refusal_row)] = list(json_rows([{**customers[0], "customerid": "SURC-\ud800"}]))
    assert isinstance(refusal_row, Refusal) and refusal_row.customerid == "SURC-\\ud800"
    assert list(refusal_row.errors) == ["customerid"]


def bad_rows(n: int) -> Iterator[bytes]:
    """A Telco export of `n` rows, each refused (a contract of "weekly"), written line by line."""
    header, row = telco_csv(1, extra={0: {"Contract": "weekly"}}).decode().splitlines()[:2]
    rest = row.split(",", 1)[1]
    yield (header + "\n").encode()
    for i in range(n):
        yield f"B{i:07d},{rest}\n".encode()


def test_rejects_go_to_storage_as_they_are_found_not_into_memory(marketing_app: InProcess, tmp_path: Path) -> None:
    """30,000 rejects take megabytes as Python objects; the upload's peak stays at a few batches' worth."""
    path = tmp_path / "bad.csv"
    with path.open("wb") as out:
        out.writelines(bad_rows(30_000))
    conn = marketing_app.app.extensions["marketing"].storage.connect()
    try:
        with path.open("rb") as stream:
            tracemalloc.start()
            try:
                campaign_id = store.create(conn, "bad rows", CampaignSettings(), csv_rows(stream), "tests")
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
        stored = conn.execute("SELECT COUNT(*), SUM(LENGTH(customerid) + LENGTH(field) + LENGTH(message))"
                              " FROM campaign_rejects WHERE campaign_id = ?", (campaign_id,)).fetchone()
    finally:
        conn.close()
    assert stored[0] == 30_000 and stored[1] > 2_400_000  # the rejects' text alone, before any Python overhead
    assert peak < 1_500_000, f"peak {peak} bytes while storing {stored[1]} bytes of rejects"


def test_an_upload_is_hidden_while_read_and_its_rejects_stored_on_the_way(marketing_app: InProcess) -> None:
    conn = marketing_app.app.extensions["marketing"].storage.connect()
    seen: dict[str, int] = {}

    def rows() -> Iterator[tuple[int, Customer | Refusal]]:
        for line in range(2, 2 + 3 * store.CHUNK):
            if line == 2 + 2 * store.CHUNK:  # two batches are in: look from another connection
                seen["rejects"] = count(marketing_app.db, "SELECT COUNT(*) FROM campaign_rejects WHERE customerid = 'W'")
                seen["listed"] = len(marketing_app.get("/api/campaigns").json()["campaigns"])
                seen["before"] = listed_before
            yield line, Refusal(line, "W", {"contract": "unknown value"})

    listed_before = len(marketing_app.get("/api/campaigns").json()["campaigns"])
    try:
        campaign_id = store.create(conn, "watched", CampaignSettings(), rows(), "tests")
    finally:
        conn.close()
    assert seen["rejects"] >= store.CHUNK  # stored while the rest was still being read
    assert seen["listed"] == seen["before"]  # and the campaign not shown until its last row was in
    status = marketing_app.get(f"/api/campaigns/{campaign_id}").json()
    assert (status["rows"], status["accepted"], status["rejected"], status["status"]) == (3 * store.CHUNK, 0,
                                                                                          3 * store.CHUNK, "queued")


def test_a_file_that_turns_bad_after_several_batches_leaves_nothing(marketing_app: InProcess) -> None:
    tables = ("campaigns", "campaign_rows", "campaign_rejects")
    before = [count(marketing_app.db, f"SELECT COUNT(*) FROM {t}") for t in tables]  # noqa: S608 - our names
    # Two batches and then some (under the 500 KB past which werkzeug's test client spools the body to a file it
    # leaves open), then a line that is not UTF-8.
    body = telco_csv(2 * store.CHUNK + 100, prefix="LATE", extra={5: {"Contract": "weekly"}}) + b"LATE9,M\xe4nnlich\n"
    answer = marketing_app.post("/api/campaigns", content_type="multipart/form-data", data={
        "file": (io.BytesIO(body), "customers.csv", "text/csv"), "name": "late"})
    assert answer.status_code == 422 and "UTF-8" in answer.json()["error"]["message"], answer.text[:300]
    assert [count(marketing_app.db, f"SELECT COUNT(*) FROM {t}") for t in tables] == before  # noqa: S608


@pytest.mark.parametrize("body", [b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n", b" \n\t\n", b"\xef\xbb\xbfcustomerid\n\xef\xbf\xbd"])
def test_a_file_with_no_usable_header_is_a_422_and_stores_nothing(marketing_app: InProcess, body: bytes) -> None:
    # A bare byte-order mark was a 500 once (the fuzzer's find): the CSV reader had no first row to give.
    before = count(marketing_app.db, "SELECT COUNT(*) FROM campaigns")
    answer = marketing_app.post("/api/campaigns", content_type="multipart/form-data", data={
        "file": (io.BytesIO(body), "customers.csv", "text/csv"), "name": "\U000f6275"})
    assert answer.status_code == 422, answer.text[:300]
    assert answer.json()["error"]["details"][0]["field"] == "file"
    assert count(marketing_app.db, "SELECT COUNT(*) FROM campaigns") == before


def test_a_log_mail_that_cannot_be_written_leaves_no_temporary_file(tmp_path: Path) -> None:
    """The disk fills mid-write (RLIMIT_FSIZE: a real write(2) failing with EFBIG after 1 KiB)."""
    mailer = LogMailer(tmp_path / "mail")
    mail = Mail("offers@example.com", "ann@example.com", b"Subject: hi\n\n" + b"x" * 100_000)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the error, not the signal that would kill us
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))
    try:
        with pytest.raises(OSError):
            mailer.send(mail, 7)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == []
    mailer.send(mail, 7)  # the disk has room again: the same send works and leaves only the mail
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == ["offer-7.eml"]
