"""The marketer's pages: the form, the result, the customers, the offers and the model (HTML)."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from marketing_service.customers.intake import submit
from marketing_service.customers.listing import get_customer, recent_customers
from marketing_service.customers.outcomes import realized_by_version
from marketing_service.customers.records import InvalidCustomer, parse_customer
from marketing_service.offers.listing import get_offer, offer_for, recent_offers
from marketing_service.shadow.compare import shadow_block
from marketing_service.state import request_db, state
from marketing_service.web.form_fields import contact_fields, feature_fields
from marketing_service.web.model_page import (
    BAR_PX,
    PLOT_PX,
    drift_rows,
    model_summary,
    quality_rows,
    shadow_view,
    threshold_marks,
)

web = Blueprint("web", __name__)
PAGE_SIZE = 100


def render_form(values: dict[str, str], errors: dict[str, str], status: int = 200,
                notice: str | None = None) -> tuple[str, int]:
    """The form, with what the marketer typed kept, per-field errors and an optional banner."""
    return render_template("form.html", contact=contact_fields(), features=feature_fields(),
                           values=values, errors=errors, notice=notice), status


def submitted_values() -> dict[str, str]:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


@web.get("/")
def form() -> ResponseReturnValue:
    return render_form({}, {})


@web.post("/")
def submit_form() -> ResponseReturnValue:
    values = submitted_values()
    try:
        customer = parse_customer(values)
    except InvalidCustomer as exc:
        return render_form(values, exc.errors, 422)
    results = submit(request_db(), state().client, state().rules, [customer])
    if results[0]["offer"]:
        state().background.kick()
    return redirect(url_for("web.customer", customerid=customer.customerid), code=303)


@web.get("/customers/<path:customerid>")
def customer(customerid: str) -> ResponseReturnValue:
    found = get_customer(request_db(), customerid)
    if found is None:
        abort(404, description=f"No customer with ID {customerid!r} is stored. Check the ID, or score them first.")
    offer = offer_for(request_db(), customerid, state().rules.campaign)
    return render_template("result.html", customer=found, offer=offer)


@web.get("/customers")
def customers() -> ResponseReturnValue:
    return render_template("customers.html", customers=recent_customers(request_db(), PAGE_SIZE))


@web.get("/offers")
def offers() -> ResponseReturnValue:
    return render_template("offers.html", offers=recent_offers(request_db(), PAGE_SIZE))


@web.get("/offers/<rowid:offer_id>")
def offer(offer_id: int) -> ResponseReturnValue:
    found = get_offer(request_db(), offer_id)
    if found is None:
        abort(404, description=f"There is no offer #{offer_id}.")
    return render_template("offer.html", offer=found)


@web.get("/model")
def model() -> ResponseReturnValue:
    """The model churn serves and its drift, asked of churn now (if churn cannot say, the page says so), and the
    realized quality of every labelled version and the shadow comparison (DESIGN §13), from the database."""
    client = state().client
    served, drift = client.read("/model"), client.read("/drift")
    summary = model_summary(served) if served else None
    return render_template("model.html", model=summary, drift=drift,
                           rows=drift_rows(drift) if drift else [], marks=threshold_marks(drift), bar_px=BAR_PX,
                           quality=quality_rows(realized_by_version(request_db()), summary, drift), plot_px=PLOT_PX,
                           shadow=shadow_view(served, shadow_block(request_db())))
