"""Realtime: ticket and message events published per tenant, and the agents' websocket."""
