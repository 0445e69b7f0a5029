"""Who is writing: a chat address resolved through the contact vault."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, select

from store.models import Contact, Person, Unit


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


def display_name(person: Person | None) -> str:
    """A name fit to show a handler, or a token the reader's language renders."""
    if person is None:
        return "@person.anonymous"
    if not person.verified or not person.name:
        return "@person.unverified"
    return person.name
