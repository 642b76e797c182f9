"""The HTTP face of marketing: pages, the customers/offers API, Model page, health, unsubscribe, headers."""
