"""Campaigns (DESIGN §8): upload, settings, targeting, background processing, outcomes, exports, pages and API."""
