"""Hand-offs (协作需求): one team asks another for work on a ticket, on its own clock."""
