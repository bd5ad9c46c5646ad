"""Files that came with messages: stored encrypted outside the database, listed in a table."""
