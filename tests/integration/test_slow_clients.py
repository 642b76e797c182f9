"""Clients that send half a request and stall (a phone on a bad network, or a slowloris) must not starve the
others: each worker has threads to spare for them, so everyone else is still answered at once."""
from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import requests

from tests.helpers import Gunicorn, Marketing
from tests.samples import LIKELY_CHURNER

STALLED = 3  # fewer than one worker's threads, however the kernel spreads them over the two workers


STALLS = {
    "headers": b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    "body": b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 400\r\n\r\n{\"gender\": ",
}


def stall(port: int, count: int, where: str) -> list[socket.socket]:
    """Connections that sent part of a request (mid-headers or mid-body), and then nothing."""
    stalled = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(STALLS[where])
        stalled.append(sock)
    time.sleep(0.5)  # let the workers take them up
    return stalled


def answered_quickly(url: str, path: str, method: str = "get", **kwargs: object) -> list[int]:
    statuses = []
    for _ in range(10):  # a fresh connection each time, so each may land on either worker
        response = requests.request(method, url + path, timeout=3, headers={"Connection": "close"}, **kwargs)
        statuses.append(response.status_code)
    return statuses


@pytest.mark.parametrize("where", sorted(STALLS))
@pytest.mark.parametrize("service", ["churn", "marketing"])
def test_stalled_clients_do_not_starve_the_others(service: str, where: str, model_dir: Path, tmp_path: Path,
                                                  churn: Gunicorn) -> None:
    if service == "churn":
        server: Gunicorn = Gunicorn("churn_service", {"MODEL_PATH": str(model_dir / "model.bin")}, workers=2)
        path, kwargs = "/predict", {"method": "post", "json": LIKELY_CHURNER}
    else:
        server = Marketing(tmp_path, churn.url)
        path, kwargs = "/healthz", {}
    with server:
        stalled = stall(server.port, STALLED, where)
        try:
            assert answered_quickly(server.url, path, **kwargs) == [200] * 10
        finally:
            for sock in stalled:
                sock.close()
