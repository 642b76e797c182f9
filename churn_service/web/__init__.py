"""The HTTP face of churn: the Flask routes, the plain-WSGI fast path, the one score → decide → answer step, OpenAPI."""
