"""Tickets, their messages and their append-only event timeline."""
