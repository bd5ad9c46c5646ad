"""HTTP API for customers: contact points, reveals, merges and the cross-channel timeline."""

from __future__ import annotations

import uuid

from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.api.deps import Actor, Cipher, Db, needs
from frontdesk.api.pagination import Page, check_limit, decode_cursor, next_cursor
from frontdesk.auth.permissions import Permission as P
from frontdesk.calls import service as calls
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.errors import InvalidInput
from frontdesk.identity import schemas as s
from frontdesk.identity import service as identity
from frontdesk.identity.models import Customer
from frontdesk.tickets import service as tickets
from frontdesk.tickets.schemas import MessageOut, TicketOut

# The timeline loads each ticket's messages with one query per ticket, so
# both the page of tickets and the messages shown per ticket are capped.
TIMELINE_MAX_TICKETS = 50
TIMELINE_MESSAGES_PER_TICKET = 50


async def _detail(
    session: AsyncSession, cipher: TenantCipher, customer: Customer
) -> s.CustomerDetail:
    points = await identity.contact_points_of(session, customer.id)
    return s.CustomerDetail.of(customer, [identity.masked_view(cipher, p) for p in points])


class CustomerController(Controller):
    path = "/api/v1/customers"
    tags = ["customers"]

    @get("/", opt=needs(P.CUSTOMERS_READ))
    async def list_customers(
        self,
        db: Db,
        principal: Actor,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
        tier: FromQuery[str | None] = None,
        include_merged: FromQuery[bool] = False,
    ) -> Page[s.CustomerOut]:
        """Newest first; customers merged into another are left out unless asked for."""
        check_limit(limit)
        rows = await identity.list_customers(
            db,
            limit=limit + 1,
            before=decode_cursor(cursor),
            tier=tier,
            include_merged=include_merged,
        )
        return Page(
            items=[s.CustomerOut.of(c) for c in rows[:limit]],
            next_cursor=next_cursor([c.id for c in rows], limit),
        )

    @post("/", opt=needs(P.CUSTOMERS_WRITE))
    async def create_customer(
        self, data: JSONBody[s.CustomerIn], db: Db, cipher: Cipher, principal: Actor
    ) -> s.CustomerDetail:
        """Create a customer with its contact points, all or nothing.

        A malformed email or phone number is a 400; a contact value that
        already belongs to a customer is a 409 naming that customer.
        """
        # Ownership (tier, success manager) is a success manager's decision.
        if (data.tier is not None and data.tier != "new") or data.success_manager_id is not None:
            principal.require(P.CUSTOMERS_OWN)
        customer = await identity.create_customer(
            db,
            cipher,
            actor_user_id=principal.user_id,
            display_name=data.display_name,
            contacts=[c.to_new() for c in data.contacts],
            tier=data.tier or "new",
            success_manager_id=data.success_manager_id,
            language=data.language,
        )
        return await _detail(db, cipher, customer)

    @get("/{customer_id:uuid}", opt=needs(P.CUSTOMERS_READ))
    async def get_customer(
        self, customer_id: FromPath[uuid.UUID], db: Db, cipher: Cipher, principal: Actor
    ) -> s.CustomerDetail:
        """The customer with its contact points, masked whatever the caller's role."""
        return await _detail(db, cipher, await identity.get_customer(db, customer_id))

    @patch("/{customer_id:uuid}", opt=needs(P.CUSTOMERS_WRITE))
    async def update_customer(
        self,
        customer_id: FromPath[uuid.UUID],
        data: JSONBody[s.CustomerPatch],
        db: Db,
        cipher: Cipher,
        principal: Actor,
    ) -> s.CustomerDetail:
        """Changing the tier or the success manager needs customers.own."""
        customer = await identity.get_customer(db, customer_id)
        await identity.update_customer(db, principal, customer, data.to_changes())
        return await _detail(db, cipher, customer)

    @post("/{customer_id:uuid}/contact-points", opt=needs(P.CUSTOMERS_WRITE))
    async def add_contact_point(
        self,
        customer_id: FromPath[uuid.UUID],
        data: JSONBody[s.ContactIn],
        db: Db,
        cipher: Cipher,
        principal: Actor,
    ) -> identity.ContactView:
        """Answers with the new contact point, masked."""
        customer = await identity.get_customer(db, customer_id)
        point = await identity.add_contact_point(
            db, cipher, actor_user_id=principal.user_id, customer=customer, contact=data.to_new()
        )
        return identity.masked_view(cipher, point)

    # POST, not GET: a reveal writes an audit record, and GET never changes state.
    @post(
        "/{customer_id:uuid}/contact-points/{point_id:uuid}/reveal",
        opt=needs(P.CONTACTS_REVEAL),
        status_code=HTTP_200_OK,
    )
    async def reveal_contact_point(
        self,
        customer_id: FromPath[uuid.UUID],
        point_id: FromPath[uuid.UUID],
        db: Db,
        cipher: Cipher,
        principal: Actor,
    ) -> identity.ContactView:
        """The clear value of one contact point; every reveal is in the audit log."""
        return await identity.reveal_contact(db, cipher, principal, customer_id, point_id)

    @post("/{customer_id:uuid}/merge", opt=needs(P.CUSTOMERS_MERGE))
    async def merge(
        self, customer_id: FromPath[uuid.UUID], data: JSONBody[s.MergeIn], db: Db, principal: Actor
    ) -> s.MergeOut:
        """Fold the source customer into this one: its contact points and tickets move here.

        Nothing is deleted; POST /customer-merges/{id}/undo moves them back.
        """
        merge = await identity.merge_customers(
            db, principal, source_id=data.source_customer_id, target_id=customer_id
        )
        return s.MergeOut.of(merge)

    @get("/{customer_id:uuid}/merges", opt=needs(P.CUSTOMERS_READ))
    async def list_merges(
        self, customer_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> list[s.MergeOut]:
        """Merges this customer took part in, as source or target, oldest first."""
        customer = await identity.get_customer(db, customer_id)
        return [s.MergeOut.of(m) for m in await identity.list_merges(db, customer.id)]

    @get("/{customer_id:uuid}/timeline", opt=needs(P.CUSTOMERS_READ))
    async def timeline(
        self,
        customer_id: FromPath[uuid.UUID],
        db: Db,
        principal: Actor,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 20,
    ) -> Page[s.TimelineEntry]:
        """The customer's history from every channel: tickets newest first, with messages.

        Only tickets the caller may read appear (an engineer sees their teams').
        """
        if not 1 <= limit <= TIMELINE_MAX_TICKETS:
            raise InvalidInput(f"limit must be between 1 and {TIMELINE_MAX_TICKETS}")
        customer = await identity.get_customer(db, customer_id)
        rows = await tickets.list_tickets(
            db,
            principal,
            tickets.TicketFilter(customer_id=customer.id),
            limit=limit + 1,
            before=decode_cursor(cursor),
        )
        entries = []
        calls_of = await calls.for_tickets(db, [t.id for t in rows[:limit]])
        for ticket in rows[:limit]:
            messages = await tickets.list_messages(
                db, ticket, limit=TIMELINE_MESSAGES_PER_TICKET + 1
            )
            entries.append(
                s.TimelineEntry(
                    ticket=TicketOut.of(ticket),
                    messages=[MessageOut.of(m) for m in messages[:TIMELINE_MESSAGES_PER_TICKET]],
                    more_messages=len(messages) > TIMELINE_MESSAGES_PER_TICKET,
                    calls=[calls.out(c) for c in calls_of.get(ticket.id, [])],
                )
            )
        return Page(items=entries, next_cursor=next_cursor([t.id for t in rows], limit))


class CustomerMergeController(Controller):
    path = "/api/v1/customer-merges"
    tags = ["customers"]

    @post("/{merge_id:uuid}/undo", opt=needs(P.CUSTOMERS_MERGE), status_code=HTTP_200_OK)
    async def undo(self, merge_id: FromPath[uuid.UUID], db: Db, principal: Actor) -> s.MergeOut:
        """Move back exactly what the merge moved; what arrived since stays."""
        return s.MergeOut.of(await identity.undo_merge(db, principal, merge_id))


CONTROLLERS = [CustomerController, CustomerMergeController]
