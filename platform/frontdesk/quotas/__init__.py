"""Quotas and rate limits per tenant: API requests, inbound messages, stored attachment bytes."""
