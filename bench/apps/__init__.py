"""Comparison apps served under the same gunicorn settings as the churn service."""
