"""Request and response bodies of the tickets API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec

from frontdesk.auth.schemas import Strict
from frontdesk.tickets.models import Category, Message, Ticket, TicketEvent
from frontdesk.tickets.service import TicketChanges
from frontdesk.tickets.states import MessageKind, Mood, Priority, TicketState

# Shape limits only, checked as the body is decoded; what a value means (a
# known category, a legal transition) is the service's to judge. The limits
# match the columns, so an over-long value is a 400 and never a database error.
Channel = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]*$", max_length=32)]
Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=63)]
Tag = Annotated[str, msgspec.Meta(max_length=50)]
# A naive time would be read differently by every client; demand the offset.
AwareTime = Annotated[dt.datetime, msgspec.Meta(tz=True)]
Reason = Annotated[str, msgspec.Meta(max_length=1000)]
Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", max_length=16)]


class TicketIn(Strict, frozen=True, kw_only=True):
    customer_id: uuid.UUID
    subject: str
    # Stored as an internal note by the creating user (see POST /tickets).
    body: str | None = None
    channel: Channel = "api"
    priority: Priority = Priority.NORMAL
    category: Slug | None = None
    team_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    tags: list[Tag] = []
    mood: Mood | None = None
    expected_by: AwareTime | None = None
    # The customer's language (ISO 639-1, e.g. "zh"; detected from the subject
    # when absent) and the product concerned: skills-based assignment matches them.
    language: Language | None = None
    product: Slug | None = None


class TicketPatch(Strict, frozen=True, kw_only=True):
    """Absent fields stay as they are; ``null`` clears the ones that may be empty."""

    subject: str | msgspec.UnsetType = msgspec.UNSET
    priority: Priority | msgspec.UnsetType = msgspec.UNSET
    category: Slug | msgspec.UnsetType | None = msgspec.UNSET
    mood: Mood | msgspec.UnsetType | None = msgspec.UNSET
    tags: list[Tag] | msgspec.UnsetType = msgspec.UNSET
    expected_by: AwareTime | msgspec.UnsetType | None = msgspec.UNSET

    def to_changes(self) -> TicketChanges:
        return TicketChanges(
            subject=self.subject,
            priority=self.priority,
            category=self.category,
            mood=self.mood,
            tags=self.tags,
            expected_by=self.expected_by,
        )


class StateIn(Strict, frozen=True, kw_only=True):
    state: TicketState
    reason: Reason | None = None


class AssignIn(Strict, frozen=True, kw_only=True):
    """Absent: leave as it is; ``null``: clear (unassign, or no team)."""

    assignee_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    team_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET


class MessageIn(Strict, frozen=True, kw_only=True):
    # reply (the customer sees it, on the ticket's channel) or note (internal).
    kind: MessageKind
    body: str
    # A reply on another of the customer's linked channels: a connected channel
    # of the tenant and a contact point of the ticket's customer it can reach.
    # Either alone defaults the other to the ticket's own.
    channel_id: uuid.UUID | None = None
    contact_point_id: uuid.UUID | None = None


class MergeIn(Strict, frozen=True, kw_only=True):
    # The surviving ticket: this one's messages move there and this one closes.
    into_ticket_id: uuid.UUID


class CategoryIn(Strict, frozen=True, kw_only=True):
    slug: Slug
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    parent_slug: Slug | None = None


class TicketOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    number: str
    subject: str
    state: str
    priority: str
    category: str | None
    channel: str
    # The channel instance and contact point a customer's first contact came
    # through; null for tickets opened by staff.
    channel_id: uuid.UUID | None
    contact_point_id: uuid.UUID | None
    customer_id: uuid.UUID
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    mood: str | None
    language: str | None
    product: str | None
    tags: list[str]
    expected_by: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    # The closed ticket this one follows up.
    follow_up_of: uuid.UUID | None
    # The ticket this one was merged into (it is closed).
    merged_into_id: uuid.UUID | None = None

    @classmethod
    def of(cls, ticket: Ticket) -> TicketOut:
        return cls(
            id=ticket.id,
            number=ticket.number,
            subject=ticket.subject,
            state=ticket.state,
            priority=ticket.priority,
            category=ticket.category,
            channel=ticket.channel,
            channel_id=ticket.channel_id,
            contact_point_id=ticket.contact_point_id,
            customer_id=ticket.customer_id,
            team_id=ticket.team_id,
            assignee_id=ticket.assignee_id,
            mood=ticket.mood,
            language=ticket.language,
            product=ticket.product,
            tags=list(ticket.tags),
            expected_by=ticket.expected_by,
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
            first_response_at=ticket.first_response_at,
            resolved_at=ticket.resolved_at,
            closed_at=ticket.closed_at,
            follow_up_of=ticket.follow_up_of,
            merged_into_id=ticket.merged_into_id,
        )


class MessageOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    ticket_id: uuid.UUID
    kind: str
    direction: str
    channel: str
    channel_id: uuid.UUID | None
    author_user_id: uuid.UUID | None
    author_customer_id: uuid.UUID | None
    subject: str | None
    body_text: str
    body_html: str | None
    # From the message's meta, field by field: the provider's own metadata
    # stays out, as it may carry the sender's address in the clear.
    thread_reason: str | None
    delivery: str | None
    # Why the last delivery attempt failed, shown beside a failed reply.
    delivery_error: str | None
    # Why an inbound message counts as automatic (an out-of-office reply, a
    # sender over the rate limit): it gets no automatic answer. For an
    # outbound one: "automatic" when the platform sent it by itself.
    automatic: str | None = None
    # Stored and refused attachments: id, filename, content_type, size, status.
    attachments: list[dict[str, object]] = []
    created_at: dt.datetime

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        meta = message.meta or {}
        return cls(
            id=message.id,
            ticket_id=message.ticket_id,
            kind=message.kind,
            direction=message.direction,
            channel=message.channel,
            channel_id=message.channel_id,
            author_user_id=message.author_user_id,
            author_customer_id=message.author_customer_id,
            subject=message.subject,
            body_text=message.body_text,
            body_html=message.body_html,
            thread_reason=_text_or_none(meta.get("thread_reason")),
            delivery=_text_or_none(meta.get("delivery")),
            delivery_error=_text_or_none(meta.get("error")),
            automatic=_automatic(meta.get("automatic")),
            attachments=[a for a in meta.get("attachments") or [] if isinstance(a, dict)],
            created_at=message.created_at,
        )


def _automatic(value: object) -> str | None:
    if value is True:
        return "automatic"
    return _text_or_none(value)


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


class EventOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    ticket_id: uuid.UUID
    actor_user_id: uuid.UUID | None
    kind: str
    data: dict[str, Any]
    created_at: dt.datetime

    @classmethod
    def of(cls, event: TicketEvent) -> EventOut:
        return cls(
            id=event.id,
            ticket_id=event.ticket_id,
            actor_user_id=event.actor_user_id,
            kind=event.kind,
            data=dict(event.data),
            created_at=event.created_at,
        )


class CategoryOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    slug: str
    name: str
    parent_slug: str | None
    builtin: bool

    @classmethod
    def of(cls, category: Category) -> CategoryOut:
        return cls(
            id=category.id,
            slug=category.slug,
            name=category.name,
            parent_slug=category.parent_slug,
            builtin=category.builtin,
        )
