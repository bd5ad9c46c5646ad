"""Identity actions: customers, encrypted contact points, lookup by blind index, merges."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Sequence

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.audit.service import add as audit_add
from frontdesk.audit.service import record
from frontdesk.auth.permissions import Permission
from frontdesk.auth.service import Principal, get_user
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.db import session_tenant, utcnow
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.identity.models import ContactPoint, Customer, CustomerMerge
from frontdesk.identity.normalise import ContactKind, mask, normalise
from frontdesk.ids import new_id

TIERS = frozenset({"vip", "high_value", "regular", "new", "dormant"})


class NewContact(msgspec.Struct, frozen=True, kw_only=True):
    kind: ContactKind
    value: str
    provider: str | None = None


class ContactView(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    kind: ContactKind
    provider: str | None
    value: str  # masked unless revealed
    masked: bool
    verified: bool
    #: ok, or failing: mail to it bounced (``failure_reason`` says how).
    status: str = "ok"
    failing_since: dt.datetime | None = None
    failure_reason: str | None = None


def _tenant(session: AsyncSession) -> uuid.UUID:
    tenant_id = session_tenant(session.sync_session)
    assert tenant_id is not None, "identity actions run in a tenant-bound session"
    return tenant_id


_PROVIDER = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def _index(cipher: TenantCipher, kind: ContactKind, normal: str, provider: str | None) -> str:
    if kind is not ContactKind.IM:
        return cipher.blind_index(kind.value, normal)
    # IM handles are only unique within their network, so the network is part
    # of the index's kind; the cipher allows only [a-z0-9_.-] there.
    if provider is None or not _PROVIDER.fullmatch(provider):
        raise InvalidInput("an IM handle needs its network as provider, e.g. 'telegram'")
    return cipher.blind_index(f"{kind.value}.{provider}", normal)


def _check_tier(tier: str) -> str:
    if tier not in TIERS:
        raise InvalidInput(f"tier must be one of {', '.join(sorted(TIERS))}")
    return tier


async def get_customer(session: AsyncSession, customer_id: uuid.UUID) -> Customer:
    customer = await session.get(Customer, (_tenant(session), customer_id))
    if customer is None:
        raise NotFound("no such customer")
    return customer


async def get_active_customer(session: AsyncSession, customer_id: uuid.UUID) -> Customer:
    """The customer, or the one it was merged into."""
    customer = await get_customer(session, customer_id)
    seen = {customer.id}
    while customer.merged_into_id is not None:
        customer = await get_customer(session, customer.merged_into_id)
        if customer.id in seen:
            break
        seen.add(customer.id)
    return customer


async def list_customers(
    session: AsyncSession,
    *,
    limit: int,
    before: uuid.UUID | None = None,
    tier: str | None = None,
    include_merged: bool = False,
) -> list[Customer]:
    stmt = select(Customer).order_by(Customer.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(Customer.id < before)
    if tier:
        stmt = stmt.where(Customer.tier == tier)
    if not include_merged:
        stmt = stmt.where(Customer.merged_into_id.is_(None))
    return list((await session.scalars(stmt)).all())


async def _check_owner(session: AsyncSession, user_id: uuid.UUID | None) -> None:
    if user_id is not None:
        await get_user(session, user_id)


async def create_customer(
    session: AsyncSession,
    cipher: TenantCipher,
    *,
    actor_user_id: uuid.UUID | None,
    display_name: str,
    contacts: Sequence[NewContact] = (),
    tier: str = "new",
    success_manager_id: uuid.UUID | None = None,
    language: str | None = None,
    default_region: str | None = None,
) -> Customer:
    name = display_name.strip()
    if len(name) > 200:
        raise InvalidInput("a display name is at most 200 characters")
    await _check_owner(session, success_manager_id)
    customer = Customer(
        display_name=name or "Customer",
        tier=_check_tier(tier),
        success_manager_id=success_manager_id,
        language=language,
    )
    session.add(customer)
    await session.flush()
    for contact in contacts:
        await add_contact_point(
            session,
            cipher,
            actor_user_id=None,
            customer=customer,
            contact=contact,
            default_region=default_region,
        )
    await record(
        session,
        actor_user_id=actor_user_id,
        action="customer.created",
        subject_type="customer",
        subject_id=customer.id,
    )
    return customer


async def add_contact_point(
    session: AsyncSession,
    cipher: TenantCipher,
    *,
    actor_user_id: uuid.UUID | None,
    customer: Customer,
    contact: NewContact,
    default_region: str | None = None,
    verified: bool = False,
) -> ContactPoint:
    normal = normalise(contact.kind, contact.value, default_region=default_region)
    index = _index(cipher, contact.kind, normal, contact.provider)
    existing = await session.scalar(
        select(ContactPoint).where(
            ContactPoint.kind == contact.kind.value, ContactPoint.value_index == index
        )
    )
    if existing is not None:
        raise Conflict(
            "this contact value already belongs to a customer; merge the customers instead",
            customer_id=str(existing.customer_id),
        )
    point = await _insert_contact_point(
        session, cipher, customer, contact.kind, normal, index, contact.provider, verified
    )
    if actor_user_id is not None:
        await record(
            session,
            actor_user_id=actor_user_id,
            action="contact.added",
            subject_type="customer",
            subject_id=customer.id,
            contact_point_id=str(point.id),
            kind=contact.kind.value,
        )
    return point


def _new_contact_point(
    cipher: TenantCipher,
    customer_id: uuid.UUID,
    kind: ContactKind,
    normal: str,
    index: str,
    provider: str | None,
    verified: bool,
) -> ContactPoint:
    """A contact point whose blind index the caller has just found free."""
    point_id = new_id()
    return ContactPoint(
        id=point_id,
        customer_id=customer_id,
        kind=kind.value,
        provider=provider,
        value_encrypted=cipher.encrypt(
            normal, table="contact_points", column="value", row_id=point_id
        ),
        value_index=index,
        verified=verified,
    )


async def _insert_contact_point(
    session: AsyncSession,
    cipher: TenantCipher,
    customer: Customer,
    kind: ContactKind,
    normal: str,
    index: str,
    provider: str | None,
    verified: bool,
) -> ContactPoint:
    point = _new_contact_point(cipher, customer.id, kind, normal, index, provider, verified)
    session.add(point)
    await session.flush()
    return point


async def find_customer_by_contact(
    session: AsyncSession,
    cipher: TenantCipher,
    kind: ContactKind,
    value: str,
    *,
    provider: str | None = None,
    default_region: str | None = None,
) -> Customer | None:
    normal = normalise(kind, value, default_region=default_region)
    point = await session.scalar(
        select(ContactPoint).where(
            ContactPoint.kind == kind.value,
            ContactPoint.value_index == _index(cipher, kind, normal, provider),
        )
    )
    if point is None:
        return None
    return await get_active_customer(session, point.customer_id)


async def contact_points_of(session: AsyncSession, customer_id: uuid.UUID) -> list[ContactPoint]:
    stmt = (
        select(ContactPoint)
        .where(ContactPoint.customer_id == customer_id)
        .order_by(ContactPoint.id)
    )
    return list((await session.scalars(stmt)).all())


def decrypt_contact(cipher: TenantCipher, point: ContactPoint) -> str:
    return cipher.decrypt(
        point.value_encrypted, table="contact_points", column="value", row_id=point.id
    )


def masked_view(cipher: TenantCipher, point: ContactPoint) -> ContactView:
    kind = ContactKind(point.kind)
    return ContactView(
        id=point.id,
        kind=kind,
        provider=point.provider,
        value=mask(kind, decrypt_contact(cipher, point)),
        masked=True,
        verified=point.verified,
        status=point.status,
        failing_since=point.failing_since,
        failure_reason=point.failure_reason,
    )


async def reveal_contact(
    session: AsyncSession,
    cipher: TenantCipher,
    principal: Principal,
    customer_id: uuid.UUID,
    point_id: uuid.UUID,
) -> ContactView:
    """The clear value, for those allowed; every reveal is in the audit log."""
    principal.require(Permission.CONTACTS_REVEAL)
    point = await session.get(ContactPoint, (principal.tenant_id, point_id))
    if point is None or point.customer_id != customer_id:
        raise NotFound("no such contact point")
    await record(
        session,
        actor_user_id=principal.user_id,
        action="contact.revealed",
        subject_type="customer",
        subject_id=point.customer_id,
        contact_point_id=str(point.id),
        kind=point.kind,
        api_token_id=str(principal.api_token_id) if principal.api_token_id else None,
    )
    return ContactView(
        id=point.id,
        kind=ContactKind(point.kind),
        provider=point.provider,
        value=decrypt_contact(cipher, point),
        masked=False,
        verified=point.verified,
        status=point.status,
        failing_since=point.failing_since,
        failure_reason=point.failure_reason,
    )


class CustomerChanges(msgspec.Struct, frozen=True, kw_only=True):
    display_name: str | msgspec.UnsetType = msgspec.UNSET
    tier: str | msgspec.UnsetType = msgspec.UNSET
    success_manager_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    language: str | msgspec.UnsetType | None = msgspec.UNSET


async def update_customer(
    session: AsyncSession, principal: Principal, customer: Customer, changes: CustomerChanges
) -> Customer:
    principal.require(Permission.CUSTOMERS_WRITE)
    recorded: dict[str, object] = {}
    if not isinstance(changes.display_name, msgspec.UnsetType):
        name = changes.display_name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("a display name is 1–200 characters")
        customer.display_name = name
        recorded["display_name"] = True
    if not isinstance(changes.tier, msgspec.UnsetType) and changes.tier != customer.tier:
        principal.require(Permission.CUSTOMERS_OWN)
        recorded["tier"] = [customer.tier, _check_tier(changes.tier)]
        customer.tier = changes.tier
    if (
        not isinstance(changes.success_manager_id, msgspec.UnsetType)
        and changes.success_manager_id != customer.success_manager_id
    ):
        principal.require(Permission.CUSTOMERS_OWN)
        await _check_owner(session, changes.success_manager_id)
        recorded["success_manager_id"] = str(changes.success_manager_id)
        customer.success_manager_id = changes.success_manager_id
    if not isinstance(changes.language, msgspec.UnsetType):
        customer.language = changes.language
        recorded["language"] = changes.language
    if recorded:
        customer.updated_at = utcnow()
        await record(
            session,
            actor_user_id=principal.user_id,
            action="customer.updated",
            subject_type="customer",
            subject_id=customer.id,
            **recorded,
        )
    await session.flush()
    return customer


async def merge_customers(
    session: AsyncSession, principal: Principal, *, source_id: uuid.UUID, target_id: uuid.UUID
) -> CustomerMerge:
    """Fold ``source`` into ``target``: its contact points and tickets move over.

    Nothing is deleted, and what moved is recorded so the merge can be undone.
    """
    from frontdesk.tickets import service as tickets

    principal.require(Permission.CUSTOMERS_MERGE)
    if source_id == target_id:
        raise InvalidInput("a customer cannot be merged into itself")
    source = await get_customer(session, source_id)
    target = await get_customer(session, target_id)
    if source.merged_into_id is not None:
        raise Conflict("that customer was already merged")
    if target.merged_into_id is not None:
        raise Conflict("cannot merge into a customer that was itself merged")
    points = await contact_points_of(session, source.id)
    ticket_ids = await tickets.ticket_ids_of_customer(session, source.id)
    for point in points:
        point.customer_id = target.id
    await tickets.move_tickets(
        session, principal.user_id, ticket_ids, to_customer_id=target.id, reason="customer merge"
    )
    source.merged_into_id = target.id
    source.updated_at = target.updated_at = utcnow()
    merge = CustomerMerge(
        source_id=source.id,
        target_id=target.id,
        moved={
            "contact_points": [str(p.id) for p in points],
            "tickets": [str(t) for t in ticket_ids],
        },
        merged_by=principal.user_id,
    )
    session.add(merge)
    await session.flush()
    await record(
        session,
        actor_user_id=principal.user_id,
        action="customer.merged",
        subject_type="customer",
        subject_id=target.id,
        source_id=str(source.id),
        merge_id=str(merge.id),
        contact_points=len(points),
        tickets=len(ticket_ids),
    )
    return merge


async def undo_merge(
    session: AsyncSession, principal: Principal, merge_id: uuid.UUID
) -> CustomerMerge:
    """Move back exactly what the merge moved; what arrived since stays with the target."""
    from frontdesk.tickets import service as tickets

    principal.require(Permission.CUSTOMERS_MERGE)
    merge = await session.get(CustomerMerge, (principal.tenant_id, merge_id))
    if merge is None:
        raise NotFound("no such merge")
    if merge.undone_at is not None:
        raise Conflict("this merge was already undone")
    source = await get_customer(session, merge.source_id)
    point_ids = [uuid.UUID(p) for p in merge.moved.get("contact_points", [])]
    ticket_ids = [uuid.UUID(t) for t in merge.moved.get("tickets", [])]
    if point_ids:
        points = (
            await session.scalars(
                select(ContactPoint).where(
                    ContactPoint.id.in_(point_ids), ContactPoint.customer_id == merge.target_id
                )
            )
        ).all()
        for point in points:
            point.customer_id = source.id
    await tickets.move_tickets(
        session, principal.user_id, ticket_ids, to_customer_id=source.id, reason="merge undone"
    )
    source.merged_into_id = None
    source.updated_at = utcnow()
    merge.undone_at = utcnow()
    merge.undone_by = principal.user_id
    await session.flush()
    await record(
        session,
        actor_user_id=principal.user_id,
        action="customer.merge_undone",
        subject_type="customer",
        subject_id=merge.target_id,
        source_id=str(source.id),
        merge_id=str(merge.id),
    )
    return merge


async def list_merges(session: AsyncSession, customer_id: uuid.UUID) -> list[CustomerMerge]:
    stmt = (
        select(CustomerMerge)
        .where((CustomerMerge.source_id == customer_id) | (CustomerMerge.target_id == customer_id))
        .order_by(CustomerMerge.id)
    )
    return list((await session.scalars(stmt)).all())


class ContactRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A sender's address as a channel gave it, for ``resolve_contacts``."""

    kind: ContactKind
    value: str
    provider: str | None = None
    display_name: str | None = None


async def resolve_contacts(
    session: AsyncSession,
    cipher: TenantCipher,
    requests: Sequence[ContactRequest],
    *,
    default_region: str | None = None,
) -> list[tuple[Customer, ContactPoint] | InvalidInput]:
    """The customer behind each contact value, created with it if new.

    Found through the blind index, so a value linked to a customer from any
    channel finds that one customer; a merged customer resolves to the
    customer it was merged into. The same new value twice makes one customer.
    A value that cannot be a contact point (a malformed phone number) gets
    its error in its place. One lookup and two flushes, whatever the count.
    """
    keys: list[tuple[ContactKind, str, str] | InvalidInput] = []
    for request in requests:
        try:
            normal = normalise(request.kind, request.value, default_region=default_region)
            keys.append(
                (request.kind, normal, _index(cipher, request.kind, normal, request.provider))
            )
        except InvalidInput as exc:
            keys.append(exc)
    indexes = {key[2] for key in keys if not isinstance(key, InvalidInput)}
    points: dict[tuple[str, str], ContactPoint] = {}
    if indexes:
        found = await session.scalars(
            select(ContactPoint).where(ContactPoint.value_index.in_(sorted(indexes)))
        )
        points = {(p.kind, p.value_index): p for p in found}
    customers: dict[uuid.UUID, Customer] = {}
    if points:
        ids = {p.customer_id for p in points.values()}
        customers = {
            c.id: c for c in await session.scalars(select(Customer).where(Customer.id.in_(ids)))
        }
        for customer_id, customer in list(customers.items()):
            if customer.merged_into_id is not None:
                customers[customer_id] = await get_active_customer(session, customer_id)
    created: list[tuple[Customer, ContactPoint]] = []
    for request, key in zip(requests, keys, strict=True):
        if isinstance(key, InvalidInput) or (key[0].value, key[2]) in points:
            continue
        kind, normal, index = key
        # Found free just above, in this transaction; a concurrent first contact
        # from the same address loses on the unique index and its job retries.
        customer = Customer(
            id=new_id(),
            display_name=(request.display_name or "").strip()[:200] or mask(kind, normal),
            tier="new",
        )
        point = _new_contact_point(
            cipher, customer.id, kind, normal, index, request.provider, verified=False
        )
        points[(kind.value, index)] = point
        customers[customer.id] = customer
        created.append((customer, point))
    if created:
        # Customers before the rows that refer to them.
        session.add_all([customer for customer, _ in created])
        await session.flush()
        session.add_all([point for _, point in created])
        for customer, _ in created:
            audit_add(
                session,
                actor_user_id=None,
                action="customer.created",
                subject_type="customer",
                subject_id=customer.id,
                source="channel",
            )
        await session.flush()
    out: list[tuple[Customer, ContactPoint] | InvalidInput] = []
    for key in keys:
        if isinstance(key, InvalidInput):
            out.append(key)
        else:
            point = points[(key[0].value, key[2])]
            out.append((customers[point.customer_id], point))
    return out


async def resolve_contact(
    session: AsyncSession,
    cipher: TenantCipher,
    *,
    kind: ContactKind,
    value: str,
    provider: str | None,
    display_name: str | None,
    default_region: str | None = None,
) -> tuple[Customer, ContactPoint]:
    """The customer behind one contact value, created with it if new (``resolve_contacts``)."""
    [resolved] = await resolve_contacts(
        session,
        cipher,
        [ContactRequest(kind=kind, value=value, provider=provider, display_name=display_name)],
        default_region=default_region,
    )
    if isinstance(resolved, InvalidInput):
        raise resolved
    return resolved


async def routing_facts(
    session: AsyncSession, customer_ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, uuid.UUID | None]]:
    """Each customer's tier and owning success manager (routing rules read these)."""
    if not customer_ids:
        return {}
    rows = await session.execute(
        select(Customer.id, Customer.tier, Customer.success_manager_id).where(
            Customer.id.in_(sorted(customer_ids))
        )
    )
    return {cid: (tier, manager) for cid, tier, manager in rows}


async def get_contact_point(session: AsyncSession, point_id: uuid.UUID) -> ContactPoint:
    point = await session.get(ContactPoint, (_tenant(session), point_id))
    if point is None:
        raise NotFound("no such contact point")
    return point


async def mark_contact_failing(
    session: AsyncSession, cipher: TenantCipher, *, kind: ContactKind, value: str, reason: str
) -> ContactPoint | None:
    """Messages to this contact value bounce (a DSN said so): agents see it as failing.

    ``reason`` must hold no contact value (it is stored in the clear).
    None when the value belongs to no customer of this tenant.
    """
    try:
        normal = normalise(kind, value)
    except InvalidInput:
        return None
    point = await session.scalar(
        select(ContactPoint).where(
            ContactPoint.kind == kind.value,
            ContactPoint.value_index == _index(cipher, kind, normal, None),
        )
    )
    if point is None:
        return None
    if point.status != "failing":
        point.failing_since = utcnow()
    point.status = "failing"
    point.failure_reason = reason[:500]
    await session.flush()
    await record(
        session,
        actor_user_id=None,
        action="contact_point.failing",
        subject_type="customer",
        subject_id=point.customer_id,
        contact_point_id=str(point.id),
        reason=point.failure_reason,
    )
    return point


async def mark_contact_working(session: AsyncSession, point: ContactPoint) -> None:
    """The customer wrote from this contact value again: it works."""
    if point.status == "ok":
        return
    point.status = "ok"
    point.failing_since = None
    point.failure_reason = None
    await session.flush()


# --- personal-data requests ---------------------------------------------------

ERASED_NAME = "Erased customer"


async def customers_behind(session: AsyncSession, customer: Customer) -> list[Customer]:
    """The customer and every customer merged into it (at any depth): one person's records."""
    found = [customer]
    frontier = [customer.id]
    while frontier:
        merged = (
            await session.scalars(select(Customer).where(Customer.merged_into_id.in_(frontier)))
        ).all()
        merged = [c for c in merged if c not in found]
        found.extend(merged)
        frontier = [c.id for c in merged]
    return found


async def contact_points_of_all(
    session: AsyncSession, customer_ids: Sequence[uuid.UUID]
) -> list[ContactPoint]:
    stmt = (
        select(ContactPoint)
        .where(ContactPoint.customer_id.in_(list(customer_ids)))
        .order_by(ContactPoint.id)
    )
    return list((await session.scalars(stmt)).all())


async def erase_customers(
    session: AsyncSession, customers: Sequence[Customer], points: Sequence[ContactPoint]
) -> None:
    """Remove the contact points and anonymise the customers; the rows stay so that
    tickets keep their customer (and reports their counts)."""
    for point in points:
        await session.delete(point)
    now = utcnow()
    for customer in customers:
        customer.display_name = ERASED_NAME
        customer.language = None
        customer.erased_at = now
        customer.updated_at = now
    await session.flush()


async def display_names(
    session: AsyncSession, customer_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Customers' display names by id, for lists (the inbox)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(Customer.id, Customer.display_name).where(Customer.id.in_(ids))
    )
    return {row.id: row.display_name for row in rows}
