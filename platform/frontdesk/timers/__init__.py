"""Timers: rows with a due time, claimed by a scheduler and fired by a job, each exactly once."""
