"""Tenants: the companies that sign up, each with its own isolated data and keys."""
