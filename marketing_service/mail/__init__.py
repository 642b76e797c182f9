"""Offer email: message building, the mailers (log files, SMTP), the outbox and its delivery, unsubscribe links."""
