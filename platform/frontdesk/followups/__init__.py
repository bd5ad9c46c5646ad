"""After a ticket: satisfaction surveys, the owner's follow-up, auto-closing quiet tickets."""
