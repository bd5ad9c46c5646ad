"""The agents' inbox and the admin console: server-rendered pages over the API's services."""
