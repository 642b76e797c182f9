"""Customers: record validation, intake (score → decide → store, single and batch), pending records, listings."""
