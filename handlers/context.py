"""What every handler gets: the open transaction, the time, who acts, through which channel."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from store.models import Person, Unit


@dataclass(frozen=True)
class Grouping:
    """When reports belong together: one incident for one workshop within `link_window`;
    `cluster_count` complaints of one category from one workshop within `cluster_window`
    are a suspected group incident (0: off)."""

    link_window: timedelta = timedelta(minutes=30)
    cluster_count: int = 3
    cluster_window: timedelta = timedelta(hours=24)


_FIRST_UNIT = "first_unit_id"  # session.info: the workroom's first unit, see unit_id()


@dataclass
class HandlerContext:
    session: Session
    now: datetime
    actor: Person
    channel: str
    zone: ZoneInfo
    secret: str
    grouping: Grouping = field(default_factory=Grouping)
    # The chain's last step is also phoned (the hotline's voice calls are set up).
    call_last_step: bool = False
    # Texts (SMS) can be sent: the hotline's provider is set up. Without it a caller's
    # number is kept to call back, and nothing is written to be texted to it.
    texts: bool = True
    # The chat the step came from (its channel's address), where files asked for go.
    address: str | None = None
    # The staff member filing for someone else (a hotline caller), who is the actor.
    filed_by: Person | None = None

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def unit_id(self) -> int | None:
        """The actor's unit; an unverified visitor belongs to the workroom's first unit."""
        if self.actor.unit_id is not None:
            return self.actor.unit_id
        memo = self.session.info  # read once per transaction: a batch files many reports
        if _FIRST_UNIT not in memo:
            memo[_FIRST_UNIT] = self.session.exec(
                select(Unit.id).order_by(Unit.id)).first()  # type: ignore[arg-type]
        found: int | None = memo[_FIRST_UNIT]
        return found

    def receipt_code(self, draft_key: str) -> str:
        return derive_receipt_code(self.secret, draft_key)


def people_of(session: Session, unit_id: int | None, roles: tuple[str, ...]) -> list[Person]:
    """The active people of these roles (of the unit, when one is given), oldest first."""
    stmt = select(Person).where(col(Person.role).in_(roles), Person.active == True)  # noqa: E712
    if unit_id is not None:
        stmt = stmt.where(Person.unit_id == unit_id)
    return list(session.exec(stmt.order_by(col(Person.id))).all())


def unit_since(session: Session, unit_id: int, zone: ZoneInfo) -> date | None:
    """The day the workroom was set up: when its first people were registered."""
    first = session.exec(select(Person).where(Person.unit_id == unit_id)
                         .order_by(col(Person.created_at), col(Person.id))).first()
    return first.created_at.astimezone(zone).date() if first is not None else None


def derive_receipt_code(secret: str, draft_key: str) -> str:
    """Derive an anonymous complaint's receipt code; only its hash is ever stored."""
    digest = hmac.new(secret.encode(), f"receipt:{draft_key}".encode(), hashlib.sha256).digest()
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud on a phone
    n = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(10):
        n, r = divmod(n, len(alphabet))
        chars.append(alphabet[r])
    return "".join(chars[:5]) + "-" + "".join(chars[5:])


_CODE_IN_WORDS = re.compile(r"(?<![A-Z0-9])([2-9A-Z]{5})[\s\-—]*([2-9A-Z]{5})(?![A-Z0-9])")


def receipt_hash(code: str) -> str:
    """Hash a receipt code as typed: case, spaces, dashes, full-width letters (a Chinese
    input method) and words around it ("回执码：") do not matter."""
    text = unicodedata.normalize("NFKC", code).upper()
    found = _CODE_IN_WORDS.search(text)  # "receipt code: …" in English words too
    folded = found[1] + found[2] if found else "".join(
        ch for ch in text if ch.isascii() and ch.isalnum())
    return hashlib.sha256(f"workroom-receipt:{folded}".encode()).hexdigest()
