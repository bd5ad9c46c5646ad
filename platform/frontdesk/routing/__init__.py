"""Routing: which team and agent a ticket goes to (rules, assignment, SLAs come with issue 6)."""
