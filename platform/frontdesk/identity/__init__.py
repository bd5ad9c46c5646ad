"""Customers and their contact points: one identity across every channel."""
