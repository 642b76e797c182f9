"""Campaigns (DESIGN §8): a named run over a whole customer list with its own targeting, a control group,
suppression, a budget, and the uplift report once outcomes are known.

`api` and `pages` are the blueprints, `processing.work_once` the background step; the rest are their parts.
"""
