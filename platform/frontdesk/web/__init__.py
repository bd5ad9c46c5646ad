"""The agents' inbox and the admin console: server-rendered pages over the same services as the API."""
