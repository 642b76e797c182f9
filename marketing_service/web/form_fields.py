"""How the form presents each field to a person: labels and option names, built from the schema."""
from __future__ import annotations

from dataclasses import dataclass

from feature_contract import schema as feature_schema

LABELS = {
    "customerid": "Customer ID", "name": "Name", "email": "Email",
    "gender": "Gender", "seniorcitizen": "Senior citizen", "partner": "Has a partner",
    "dependents": "Has dependents", "tenure": "Tenure (months)", "phoneservice": "Phone service",
    "multiplelines": "Multiple lines", "internetservice": "Internet service",
    "onlinesecurity": "Online security", "onlinebackup": "Online backup",
    "deviceprotection": "Device protection", "techsupport": "Tech support", "streamingtv": "Streaming TV",
    "streamingmovies": "Streaming movies", "contract": "Contract", "paperlessbilling": "Paperless billing",
    "paymentmethod": "Payment method", "monthlycharges": "Monthly charges", "totalcharges": "Total charges",
}
SPECIAL_OPTIONS = {"dsl": "DSL", "fiber_optic": "Fibre optic", "no_internet_service": "No internet service",
                   "no_phone_service": "No phone service"}


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str  # "text", "email", "select" or "number"
    options: tuple[tuple[str, str], ...] = ()
    step: str = "any"
    minimum: float | None = None
    maximum: float | None = None
    required: bool = True


def option_label(value: str) -> str:
    return SPECIAL_OPTIONS.get(value, value.replace("_", " ").capitalize())


def contact_fields() -> list[FormField]:
    return [
        FormField("customerid", LABELS["customerid"], "text"),
        FormField("name", LABELS["name"], "text", required=False),
        FormField("email", LABELS["email"], "email"),
    ]


def feature_fields() -> list[FormField]:
    fields = []
    for name, spec in feature_schema().items():
        label = LABELS.get(name, name)
        if spec["type"] == "category":
            fields.append(FormField(name, label, "select", tuple((v, option_label(v)) for v in spec["allowed"])))
        elif spec["type"] == "binary":
            fields.append(FormField(name, label, "select", (("0", "No"), ("1", "Yes"))))
        else:
            step = "1" if spec["type"] == "integer" else "0.01"
            fields.append(FormField(name, label, "number", step=step, minimum=spec["minimum"], maximum=spec["maximum"]))
    return fields
