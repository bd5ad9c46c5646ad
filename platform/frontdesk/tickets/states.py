"""Ticket states, priorities, moods and the transitions allowed between states."""

from __future__ import annotations

from enum import StrEnum

from frontdesk.errors import IllegalTransition


class TicketState(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # 待跟进: waiting on a follow-up
    ESCALATED = "escalated"  # 需升级: needs escalation
    RESOLVED = "resolved"  # 已解决
    CLOSED = "closed"


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Mood(StrEnum):
    CALM = "calm"
    ANXIOUS = "anxious"
    UPSET = "upset"


class MessageKind(StrEnum):
    REPLY = "reply"  # public: the customer sees it
    NOTE = "note"  # internal
    SYSTEM = "system"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


S = TicketState

TRANSITIONS: dict[TicketState, frozenset[TicketState]] = {
    S.NEW: frozenset({S.OPEN, S.PENDING, S.ESCALATED, S.RESOLVED, S.CLOSED}),
    S.OPEN: frozenset({S.PENDING, S.ESCALATED, S.RESOLVED}),
    S.PENDING: frozenset({S.OPEN, S.ESCALATED, S.RESOLVED}),
    S.ESCALATED: frozenset({S.OPEN, S.PENDING, S.RESOLVED}),
    # A resolved ticket reopens when the customer writes again, or closes
    # after the follow-up; a closed ticket is final (a new contact opens a
    # linked follow-up ticket instead).
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}

OPEN_STATES = frozenset({S.NEW, S.OPEN, S.PENDING, S.ESCALATED})


def check_transition(current: TicketState, target: TicketState) -> None:
    if target == current:
        raise IllegalTransition(f"the ticket is already {current.value}")
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
        raise IllegalTransition(
            f"a {current.value} ticket cannot become {target.value} (allowed: {allowed})",
            current=current.value,
            target=target.value,
        )
