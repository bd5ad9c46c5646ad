"""Incidents (突发应急事件): one ticket for an outage, the customers' tickets linked to it."""
