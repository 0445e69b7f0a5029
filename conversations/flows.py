"""The workroom's flows, declared once for every channel."""

from __future__ import annotations

from conversations.answers import Choice, DateAnswer, Number, Option, Text
from conversations.flow import Ask, Flow, MenuItem

SUGGESTION_TOPICS = ("wages", "safety", "hours", "living", "training", "management", "other")
COMPLAINT_CATEGORIES = ("wages", "safety", "hours", "contract", "living", "management", "other")


def _options(group: str, values: tuple[str, ...]) -> tuple[Option, ...]:
    return tuple(Option(v, f"opt.{group}.{v}") for v in values)


IDENTITY = Choice(_options("identity", ("named", "anonymous")))

SUGGESTION = Flow(
    "suggestion",
    (
        Ask("topic", Choice(_options("topic", SUGGESTION_TOPICS))),
        Ask("text", Text(5, 2000)),
        Ask("identity", IDENTITY),
    ),
)

COMPLAINT = Flow(
    "complaint",
    (
        Ask("category", Choice(_options("category", COMPLAINT_CATEGORIES))),
        Ask("description", Text(10, 2000)),
        Ask("since", DateAnswer()),
        Ask("affected", Number(1, 100000)),
        Ask("cosigners", Number(0, 100000), optional=True),
        Ask("workshop", Choice(_options("workshop", ("unknown",)), source="workshops")),
        Ask("outcome", Text(2, 1000)),
        Ask("identity", IDENTITY),
    ),
    takes_attachments=True,
)

BOOKING = Flow(
    "booking",
    (
        Ask("slot", Choice(source="duty_slots")),
        Ask("topic", Text(2, 500)),
    ),
)

EMERGENCY = Flow(
    "emergency",
    (
        Ask("what", Text(2, 500)),
        Ask("place", Text(2, 200)),
        Ask("people", Number(1, 100000), optional=True),
        Ask("measures", Text(2, 500), optional=True),
        Ask("suggestion", Text(2, 500), optional=True),
    ),
    review=False,
    send_now_after=2,
    urgent=True,
    takes_attachments=True,
)

RECEIPT = Flow("receipt", (Ask("code", Text(6, 32)),), review=False)

CANCEL_BOOKING = Flow("cancel_booking", (Ask("booking", Choice(source="my_bookings")),))

FLOWS: dict[str, Flow] = {
    f.name: f for f in (SUGGESTION, COMPLAINT, BOOKING, EMERGENCY, RECEIPT, CANCEL_BOOKING)
}

HANDLING_ROLES = ("leader", "director", "staff")

MENU: tuple[MenuItem, ...] = (
    MenuItem("flow:suggestion", "menu.suggestion"),
    MenuItem("flow:complaint", "menu.complaint"),
    MenuItem("flow:booking", "menu.booking"),
    MenuItem("flow:emergency", "menu.emergency"),
    MenuItem("flow:emergency@workshop", "menu.emergency_workshop", roles=("liaison",)),
    MenuItem("query:my_alerts", "menu.my_alerts", roles=("leader", "director", "staff")),
    MenuItem("query:open_cases", "menu.open_cases", roles=HANDLING_ROLES),
    MenuItem("query:my_cases", "menu.my_cases"),
    MenuItem("flow:cancel_booking", "menu.my_bookings"),
    MenuItem("flow:receipt", "menu.receipt"),
    MenuItem("cmd:lang", "menu.lang"),
)


def menu_for(role: str) -> list[MenuItem]:
    return [m for m in MENU if not m.roles or role in m.roles]
