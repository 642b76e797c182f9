"""The e2e tests use the session-wide fixtures of tests/conftest.py (a trained model, a churn service)."""
