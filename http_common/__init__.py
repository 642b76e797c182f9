"""HTTP plumbing both services share: JSON errors, Prometheus metrics, gunicorn hooks.

It holds no business logic, so sharing it does not couple the two deployables' behaviour.
"""
