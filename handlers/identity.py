"""Who is writing: a chat address resolved through the contact vault."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from store.models import Contact, InviteCode, Person, Unit


def resolve(session: Session, *, channel: str, address: str, now: datetime,
            lang: str | None = None) -> Person:
    """Return the person behind a chat address; an unknown one is an unverified employee."""
    contact = session.exec(
        select(Contact).where(Contact.channel == channel, Contact.address == address)
    ).first()
    if contact is not None:
        contact.last_used_at = now
        session.add(contact)
        person = session.get(Person, contact.person_id)
        if person is not None:
            return person
    unit = session.exec(select(Unit).order_by(Unit.id)).first()  # type: ignore[arg-type]
    person = Person(key=f"{channel}-{uuid.uuid4().hex[:16]}", role="employee", verified=False,
                    unit_id=unit.id if unit else None, lang=lang, created_at=now)
    session.add(person)
    session.flush()
    assert person.id is not None
    session.add(Contact(person_id=person.id, channel=channel, address=address, last_used_at=now))
    session.flush()
    return person


def resolve_as(session: Session, person: Person, *, channel: str, address: str,
               now: datetime) -> Person:
    """`person`, known by other means (their phone on file), now also reached at this
    address: its contact is theirs from now on (a stranger's before is taken over)."""
    assert person.id is not None
    contact = session.exec(
        select(Contact).where(Contact.channel == channel, Contact.address == address)
    ).first() or Contact(person_id=person.id, channel=channel, address=address)
    contact.person_id, contact.last_used_at = person.id, now
    session.add(contact)
    session.flush()
    return person


def display_name(person: Person | None) -> str:
    """A name fit to show a handler, or a token the reader's language renders."""
    if person is None:
        return "@person.anonymous"
    if not person.verified or not person.name:
        return "@person.unverified"
    return person.name


# The hotline's channels (handlers.hotline SMS, VOICE, FILED): a caller known by number.
HOTLINE_CHANNELS = ("sms", "voice", "hotline")


def reporter_name(person: Person | None, channel: str,
                  filed_by: Person | None = None) -> str | dict[str, str]:
    """Who reported an emergency, as its alert names them: their name; "a hotline caller"
    for an unverified person who phoned or texted the hotline; and the staff member who
    filed it for them, who took the call and can be asked about it."""
    who = display_name(person)
    if who == "@person.unverified" and channel in HOTLINE_CHANNELS:
        who = "@person.caller"
    if filed_by is None or not filed_by.name:
        return who
    return {"say": "person.filed_by", "who": who, "by": filed_by.name}


def _code_hash(code: str) -> str:
    return hashlib.sha256(f"workroom-invite:{code.strip()}".encode()).hexdigest()


def issue_code(session: Session, *, person: Person, channel: str, now: datetime,
               ttl: timedelta) -> str:
    """Make a one-time code for `/start <code>`; only its hash is kept."""
    code = secrets.token_urlsafe(12)  # 16 characters of [A-Za-z0-9_-]: fits a deep link
    assert person.id is not None
    session.add(InviteCode(code_hash=_code_hash(code), person_id=person.id, channel=channel,
                           expires_at=now + ttl, created_at=now))
    return code


@dataclass(frozen=True)
class Redeemed:
    """What opening an invitation did: `linked` (the chat is `person`'s now), `already`
    (it was: the code opened again from the chat it linked), `taken` (the chat is
    `person`'s, another verified person: nothing changed, the code still unused) or
    `invalid` (unknown, used by another chat, expired, or for another channel)."""

    outcome: str
    person: Person | None = None


def redeem(session: Session, *, code: str, channel: str, address: str,
           now: datetime) -> Redeemed:
    """Link this chat address to the code's person, once.

    A chat already someone else's, a verified person's, stays theirs: a leader's phone
    opening a colleague's link must not silently stop the leader's alerts reaching it.
    The code stays unused, for the chat it was meant for."""
    row = session.exec(select(InviteCode).where(InviteCode.code_hash == _code_hash(code))
                       .with_for_update()).first()
    if row is None or row.channel != channel:
        return Redeemed("invalid")
    contact = session.exec(select(Contact).where(Contact.channel == channel,
                                                 Contact.address == address)).first()
    person = session.get(Person, row.person_id)
    if person is None or not person.active:
        return Redeemed("invalid")
    if contact is not None and contact.person_id == row.person_id:
        if row.used_at is None:
            row.used_at = now
            session.add(row)
        return Redeemed("already", person)
    if row.used_at is not None or row.expires_at <= now:
        return Redeemed("invalid")
    owner = session.get(Person, contact.person_id) if contact is not None else None
    if owner is not None and owner.verified and owner.active:
        return Redeemed("taken", owner)
    row.used_at = now
    session.add(row)
    if contact is None:
        contact = Contact(person_id=row.person_id, channel=channel, address=address)
    # The address may have chatted before as an unverified employee: it is theirs now.
    contact.person_id, contact.last_used_at = row.person_id, now
    session.add(contact)
    session.flush()
    return Redeemed("linked", person)
