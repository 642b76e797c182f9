"""Scoring a whole customer table with Apache Spark (DESIGN §9): `python -m churn_service.spark`."""
