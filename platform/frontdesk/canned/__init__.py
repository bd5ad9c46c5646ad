"""Canned replies (话术库): a tenant's reusable answers with placeholders."""
