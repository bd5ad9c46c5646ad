"""Notifications: per-user messages (SLA warnings, overdue hand-offs), stored and pushed live."""
