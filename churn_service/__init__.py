"""Churn service: the trained model over HTTP (DESIGN §3). `create_app` is the factory gunicorn starts."""
from churn_service.app import create_app

__all__ = ["create_app"]
