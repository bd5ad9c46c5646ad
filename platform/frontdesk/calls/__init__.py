"""Phone calls: one call log per provider call, merged from its webhooks in any order."""
