"""Users, roles, permissions, teams and tokens: who may do what."""
