"""Offer email: message building, the mailers, the outbox and its delivery, unsubscribe links, providers' mail events."""
