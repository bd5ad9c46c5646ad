"""Request and response bodies of the customers API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from frontdesk.auth.schemas import Strict
from frontdesk.calls.service import CallOut
from frontdesk.identity.models import Customer, CustomerMerge
from frontdesk.identity.normalise import ContactKind
from frontdesk.identity.service import ContactView, CustomerChanges, NewContact
from frontdesk.tickets.schemas import MessageOut, TicketOut

# Shape limits only, checked as the body is decoded; what a value means
# (a real email address, a known tier) is the service's to judge. The limits
# match the columns, so an over-long value is a 400 and never a database error.
DisplayName = Annotated[str, msgspec.Meta(max_length=200)]
Language = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$", max_length=16)
]
Provider = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=32)]
ContactValue = Annotated[str, msgspec.Meta(min_length=1, max_length=320)]


class ContactIn(Strict, frozen=True, kw_only=True):
    kind: ContactKind
    value: ContactValue
    # For IM handles: the network (telegram, slack, wecom, whatsapp).
    provider: Provider | None = None

    def to_new(self) -> NewContact:
        return NewContact(kind=self.kind, value=self.value, provider=self.provider)


class CustomerIn(Strict, frozen=True, kw_only=True):
    display_name: DisplayName
    # None means the default tier; any other needs customers.own.
    tier: str | None = None
    success_manager_id: uuid.UUID | None = None
    language: Language | None = None
    contacts: Annotated[list[ContactIn], msgspec.Meta(max_length=20)] = []


class CustomerPatch(Strict, frozen=True, kw_only=True):
    """Absent fields stay as they are; ``null`` clears the ones that may be empty."""

    display_name: DisplayName | msgspec.UnsetType = msgspec.UNSET
    tier: str | msgspec.UnsetType = msgspec.UNSET
    success_manager_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    language: Language | msgspec.UnsetType | None = msgspec.UNSET

    def to_changes(self) -> CustomerChanges:
        return CustomerChanges(
            display_name=self.display_name,
            tier=self.tier,
            success_manager_id=self.success_manager_id,
            language=self.language,
        )


class CustomerOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    display_name: str
    tier: str
    success_manager_id: uuid.UUID | None
    language: str | None
    # Set when this customer was merged into another: follow it.
    merged_into_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, customer: Customer) -> CustomerOut:
        return cls(
            id=customer.id,
            display_name=customer.display_name,
            tier=customer.tier,
            success_manager_id=customer.success_manager_id,
            language=customer.language,
            merged_into_id=customer.merged_into_id,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
        )


class CustomerDetail(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    display_name: str
    tier: str
    success_manager_id: uuid.UUID | None
    language: str | None
    merged_into_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    # Always masked here; POST …/reveal shows one value, and audits it.
    contact_points: list[ContactView]

    @classmethod
    def of(cls, customer: Customer, contact_points: list[ContactView]) -> CustomerDetail:
        return cls(
            **msgspec.structs.asdict(CustomerOut.of(customer)), contact_points=contact_points
        )


class MergeIn(Strict, frozen=True, kw_only=True):
    source_customer_id: uuid.UUID


class MovedOut(msgspec.Struct, frozen=True, kw_only=True):
    contact_points: int
    tickets: int


class MergeOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    source_id: uuid.UUID
    target_id: uuid.UUID
    moved: MovedOut
    merged_by: uuid.UUID | None
    merged_at: dt.datetime
    undone_by: uuid.UUID | None
    undone_at: dt.datetime | None

    @classmethod
    def of(cls, merge: CustomerMerge) -> MergeOut:
        return cls(
            id=merge.id,
            source_id=merge.source_id,
            target_id=merge.target_id,
            moved=MovedOut(
                contact_points=len(merge.moved.get("contact_points", [])),
                tickets=len(merge.moved.get("tickets", [])),
            ),
            merged_by=merge.merged_by,
            merged_at=merge.merged_at,
            undone_by=merge.undone_by,
            undone_at=merge.undone_at,
        )


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    ticket: TicketOut
    # The ticket's first messages, oldest first; when ``more_messages`` is
    # true, GET /tickets/{id}/messages pages through the rest.
    messages: list[MessageOut]
    more_messages: bool
    # The ticket's phone calls (call logs), oldest first.
    calls: list[CallOut] = []
