"""The e2e tests reuse the integration fixtures (a trained model and a churn service)."""
from tests.integration.conftest import churn  # noqa: F401 - a fixture, used by name
