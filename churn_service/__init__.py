"""Churn service: the trained model over HTTP (DESIGN §3)."""
from churn_service.app import create_app

__all__ = ["create_app"]
