"""Tasks on a ticket with a due time of their own (a callback after a missed call)."""
