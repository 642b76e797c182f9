"""Customers the tests send, spelled as a client would."""
from __future__ import annotations

from typing import Any

# The ML Zoomcamp's sample customer (about 0.63 in the course).
ZOOMCAMP_CUSTOMER: dict[str, Any] = {
    "gender": "female", "seniorcitizen": 0, "partner": "yes", "dependents": "no", "phoneservice": "no",
    "multiplelines": "no_phone_service", "internetservice": "dsl", "onlinesecurity": "no",
    "onlinebackup": "yes", "deviceprotection": "no", "techsupport": "no", "streamingtv": "no",
    "streamingmovies": "no", "contract": "month-to-month", "paperlessbilling": "yes",
    "paymentmethod": "electronic_check", "tenure": 1, "monthlycharges": 29.85, "totalcharges": 29.85,
}
# Fibre, month-to-month, electronic check, brand new: the profile the model scores highest.
LIKELY_CHURNER: dict[str, Any] = {
    **ZOOMCAMP_CUSTOMER, "phoneservice": "yes", "multiplelines": "yes", "internetservice": "fiber_optic",
    "streamingtv": "yes", "streamingmovies": "yes", "onlinebackup": "no", "monthlycharges": 99.5,
    "totalcharges": 99.5, "seniorcitizen": 1, "partner": "no",
}
# Two-year contract, long tenure, no internet: the profile the model scores lowest.
LOYAL_CUSTOMER: dict[str, Any] = {
    **ZOOMCAMP_CUSTOMER, "phoneservice": "yes", "multiplelines": "no", "internetservice": "no",
    "onlinesecurity": "no_internet_service", "onlinebackup": "no_internet_service",
    "deviceprotection": "no_internet_service", "techsupport": "no_internet_service",
    "streamingtv": "no_internet_service", "streamingmovies": "no_internet_service", "contract": "two_year",
    "paperlessbilling": "no", "paymentmethod": "credit_card_(automatic)", "tenure": 70, "monthlycharges": 20.0,
    "totalcharges": 1400.0, "partner": "yes", "dependents": "yes",
}
