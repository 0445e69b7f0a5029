"""The workroom's flows, declared once for every channel."""

from __future__ import annotations

from conversations.answers import (
    RECEIPT_CODE,
    Choice,
    DateAnswer,
    Number,
    Option,
    Phone,
    Text,
)
from conversations.flow import Ask, Flow, MenuItem

SUGGESTION_TOPICS = ("wages", "safety", "hours", "living", "training", "management", "other")
COMPLAINT_CATEGORIES = ("wages", "safety", "hours", "contract", "living", "management", "other")


def _options(group: str, values: tuple[str, ...]) -> tuple[Option, ...]:
    return tuple(Option(v, f"opt.{group}.{v}") for v in values)


def _category() -> Choice:
    """What kind of problem: the words said before it ("加班费") put their kind first."""
    return Choice(_options("category", COMPLAINT_CATEGORIES), guess="keywords.category")


IDENTITY = Choice(_options("identity", ("named", "anonymous")))

SUGGESTION = Flow(
    "suggestion",
    (
        Ask("topic", Choice(_options("topic", SUGGESTION_TOPICS))),
        Ask("text", Text(5, 2000)),
        Ask("identity", IDENTITY),
    ),
)

ANSWER_KINDS = ("adopted", "noted", "declined")  # 采纳 / 留作参考 / 暂不采纳

# The staff (or the director) answer a suggestion: which one (the unit's unanswered,
# newest first), what became of it, the words the suggester reads.
ANSWER_SUGGESTION = Flow(
    "answer_suggestion",
    (
        Ask("suggestion", Choice(source="open_suggestions"), check="suggestion_open"),
        Ask("kind", Choice(_options("answer_kind", ANSWER_KINDS))),
        Ask("answer", Text(5, 2000)),
    ),
    roles=("staff", "director"),
)

COMPLAINT = Flow(
    "complaint",
    (
        Ask("category", _category()),
        Ask("description", Text(10, 2000)),
        Ask("since", DateAnswer()),
        Ask("affected", Number(1, 100000, estimate=True)),
        Ask("cosigners", Number(0, 100000), optional=True),
        Ask("workshop", Choice(_options("workshop", ("unknown",)), source="workshops", named=True)),
        Ask("outcome", Text(2, 1000)),
        Ask("identity", IDENTITY),
    ),
    takes_attachments=True,
)

# A letter to a leader (领导来信, 001 (二)): to the chairman (the director), to a leader by
# name, who reads it (领导亲自阅示), or to no leader in particular, routed by portfolio as a
# complaint is. It is then followed as a complaint: a deadline, the reply, the rating.
LETTER = Flow(
    "letter",
    (
        Ask("to", Choice(_options("letter_to", ("any",)), source="letter_addressees",
                         named=True)),
        Ask("category", _category(),
            when=("to", ("any",))),
        Ask("description", Text(10, 3000)),
        Ask("identity", IDENTITY),
    ),
    takes_attachments=True,
)

BOOKING = Flow(
    "booking",
    (
        Ask("slot", Choice(source="slots_to_book", dated=True), check="slot_free"),
        Ask("topic", Text(2, 500)),
    ),
)

EMERGENCY = Flow(
    "emergency",
    (
        Ask("what", Text(2, 500)),
        Ask("place", Text(2, 200, place=True)),
        Ask("people", Number(1, 100000, estimate=True), optional=True),
        Ask("measures", Text(2, 500), optional=True),
        Ask("suggestion", Text(2, 500), optional=True),
    ),
    review=False,
    send_now_after=2,
    urgent=True,
    takes_attachments=True,
)

RECEIPT = Flow("receipt", (Ask("code", Text(6, 32)),), review=False)

# A report added to an emergency of the same workshop that is in fact another one: its
# reporter (or the staff) files it apart, with its own alerts. Opened by the button of the
# push that says what it was added to; one tap, as an emergency is.
EMERGENCY_APART = Flow(
    "emergency_apart",
    (Ask("report", Choice(source="linked_reports")),),
    review=False,
    urgent=True,
)

CANCEL_BOOKING = Flow("cancel_booking", (Ask("booking", Choice(source="my_bookings")),))

# A booking whose day went to another leader: its employee keeps it, or moves it to another
# reception (another day of the leader they meant to see). Opened by the buttons of the push
# that tells them; "keep" is one tap.
CHANGE_BOOKING = Flow(
    "change_booking",
    (
        Ask("booking", Choice(source="my_bookings")),
        Ask("slot", Choice(_options("change_booking", ("keep",)), source="slots_to_book",
                           dated=True), check="slot_free"),
    ),
)

HANDLING_ROLES = ("leader", "director", "staff")
CASE_ACTIONS = ("note", "reply", "close", "extend", "reassign", "reclassify", "return_visit",
                "five_fix", "urge")


def _for(*actions: str) -> tuple[str, tuple[str, ...]]:
    return ("action", actions)


# The handler's actions on a case: choose the case, the action, then what that action needs.
CASE_ACTION = Flow(
    "case_action",
    (
        Ask("case", Choice(source="handling_cases")),
        # Only what the person may do to that case now (handlers/casework.offered).
        Ask("action", Choice(source="case_actions", given="case", named=True),
            check="case_action"),
        Ask("note", Text(2, 1000), when=_for("note")),
        Ask("reply", Text(5, 2000), when=_for("reply")),
        Ask("outcome", Text(2, 1000), when=_for("close")),
        Ask("days", Number(1, 90), when=_for("extend"), check="extension_days"),
        Ask("assignee", Choice(source="assignees", named=True), when=_for("reassign")),
        # 再分类: the category a case belongs to, chosen by the staff or the director.
        Ask("category", Choice(_options("category", COMPLAINT_CATEGORIES)),
            when=_for("reclassify")),
        Ask("reason", Text(2, 500), when=_for("extend", "reassign", "reclassify")),
        Ask("visit", Text(2, 1000), when=_for("return_visit")),
        Ask("dept_head", Text(2, 100), when=_for("five_fix")),
        Ask("responsible", Text(2, 100), when=_for("five_fix")),
        Ask("report_on", DateAnswer(past_only=False), when=_for("five_fix")),
        Ask("visit_plan", Text(2, 300), when=_for("five_fix")),
        Ask("urge", Text(2, 500), when=_for("urge")),
    ),
    roles=HANDLING_ROLES,
)

DECIDE_EXTENSION = Flow(
    "decide_extension",
    (
        Ask("extension", Choice(source="pending_extensions")),
        Ask("decision", Choice(_options("decision", ("approve", "refuse")))),
    ),
    roles=("director", "leader"),
)

RATINGS = ("satisfied", "basic", "unsatisfied")  # 满意 / 基本满意 / 不满意

# The complainant rates a reply: a case of their own, or an anonymous one by receipt code.
RATE = Flow(
    "rate",
    (
        Ask("case", Choice(_options("rate_case", ("code",)), source="cases_to_rate",
                           typed=("code", RECEIPT_CODE)), check="rate_case"),
        Ask("code", Text(6, 32), when=("case", ("code",)), check="rate_code"),
        Ask("rating", Choice(_options("rating", RATINGS))),
    ),
    review=False,
)

INCIDENT_ACTIONS = ("first", "opinion", "city", "handled", "closing", "archive")
_REPORTS = ("action", ("first", "opinion", "closing"))
_CITY = ("action", ("city",))
# How the group incident reached the city union within 24 hours: most often by its
# hotline (12351), read out from the reports already written.
CITY_HOW = ("phone", "written")

# The director follows an emergency to the end: the reports to the upper union (unit and
# time come from the record), the city union told within 24 hours (recorded: how, and who
# took it), the end of the handling, the archiving.
INCIDENT_ACTION = Flow(
    "incident_action",
    (
        Ask("incident", Choice(source="unit_incidents")),
        Ask("action", Choice(_options("incident_action", INCIDENT_ACTIONS)),
            check="incident_action"),
        Ask("involved", Text(2, 500), when=_REPORTS),
        Ask("impact", Text(2, 1000), when=_REPORTS),
        Ask("measures", Text(2, 1000), when=_REPORTS, none_ok=True),
        Ask("suggestions", Text(2, 1000), when=_REPORTS, none_ok=True),
        Ask("how", Choice(_options("city_how", CITY_HOW)), when=_CITY),
        Ask("taken_by", Text(2, 100), when=_CITY),
        Ask("outcome", Text(2, 1000), when=("action", ("handled",))),
        Ask("archive", Text(2, 300), when=("action", ("archive",))),
    ),
    roles=("director",),
)

# The leader on duty moves a visit booked with them to another published reception.
RESCHEDULE_BOOKING = Flow(
    "reschedule_booking",
    (
        Ask("booking", Choice(source="bookings_with_me")),
        Ask("slot", Choice(source="my_duty_slots", dated=True), check="slot_to_move"),
        Ask("reason", Text(2, 300)),
    ),
    roles=("leader", "director"),
)

CALLER_KINDS = ("incident", "complaint")

# Staff who answered the hotline themselves file the report on the caller's behalf; the
# caller's number goes to the contact vault and the caller is texted like any reporter.
FILE_FOR_CALLER = Flow(
    "file_for_caller",
    (
        Ask("kind", Choice(_options("caller_kind", CALLER_KINDS))),
        Ask("phone", Phone()),
        Ask("what", Text(2, 2000)),
        Ask("workshop", Choice(_options("workshop", ("unknown",)), source="workshops", named=True)),
        Ask("people", Number(1, 100000, estimate=True), optional=True),
        Ask("category", _category(),
            when=("kind", ("complaint",))),
    ),
    roles=("staff", "director"),
    urgent=True,
)

# Of the staff's missed hotline calls, the one they called back: asked where "已回电" cannot
# say which (typed on WeChat with two such pushes open); the button of each push says it.
CALLED_BACK = Flow(
    "called_back",
    (Ask("call", Choice(source="calls_to_call_back")),),
    review=False,
    roles=("staff", "director"),
)

FLOWS: dict[str, Flow] = {
    f.name: f for f in (SUGGESTION, ANSWER_SUGGESTION, COMPLAINT, BOOKING, EMERGENCY,
                        EMERGENCY_APART, RECEIPT, CANCEL_BOOKING, CHANGE_BOOKING,
                        CASE_ACTION, DECIDE_EXTENSION, RATE, INCIDENT_ACTION, LETTER,
                        RESCHEDULE_BOOKING, FILE_FOR_CALLER, CALLED_BACK)
}

MENU: tuple[MenuItem, ...] = (
    MenuItem("flow:suggestion", "menu.suggestion"),
    MenuItem("flow:complaint", "menu.complaint"),
    MenuItem("flow:booking", "menu.booking"),
    MenuItem("flow:emergency", "menu.emergency"),
    MenuItem("flow:emergency@workshop", "menu.emergency_workshop", roles=("liaison",)),
    MenuItem("query:my_alerts", "menu.my_alerts", roles=("leader", "director", "staff")),
    MenuItem("query:open_cases", "menu.open_cases", roles=HANDLING_ROLES),
    MenuItem("query:my_handling", "menu.my_handling", roles=HANDLING_ROLES),
    MenuItem("flow:case_action", "menu.case_action", roles=HANDLING_ROLES),
    MenuItem("flow:decide_extension", "menu.decide_extension", roles=("director", "leader")),
    MenuItem("flow:incident_action", "menu.incident_action", roles=("director",)),
    MenuItem("flow:answer_suggestion", "menu.answer_suggestion", roles=("staff", "director")),
    MenuItem("flow:reschedule_booking", "menu.reschedule_booking", roles=("leader", "director")),
    MenuItem("query:my_cases", "menu.my_cases"),
    MenuItem("flow:cancel_booking", "menu.my_bookings"),
    MenuItem("flow:receipt", "menu.receipt"),
    MenuItem("flow:rate", "menu.rate"),
    MenuItem("flow:letter", "menu.letter", roles=("employee", "liaison")),
    MenuItem("cmd:lang", "menu.lang"),
    MenuItem("flow:file_for_caller", "menu.file_for_caller", roles=("staff", "director")),
    MenuItem("flow:emergency_apart", "menu.emergency_apart", hidden=True),
    MenuItem("flow:change_booking", "menu.change_booking", hidden=True),
    MenuItem("flow:called_back", "menu.called_back", roles=("staff", "director"), hidden=True),
)


# A leader's, the director's and the staff's own work comes first, in this order: what
# waits for them (alerts, cases, extensions, an emergency), the receptions (the ledger
# right after a visit), the roster and the rest; then what every employee may do, the
# language last. An employee's and a liaison's menu keeps the order declared.
OWN_WORK_FIRST = ("leader", "director", "staff")
OWN_WORK = ("query:my_alerts", "flow:incident_action", "flow:case_action",
            "query:my_handling", "query:open_cases", "flow:decide_extension",
            "flow:answer_suggestion",
            "flow:report_action", "flow:info_report", "flow:visit_record", "flow:visit_missed",
            "flow:reschedule_booking",
            "query:roster", "flow:duty_swap", "flow:roster", "query:warnings",
            "flow:warning_action", "flow:screening", "flow:invite", "flow:field_visit",
            "flow:work_log", "flow:file_for_caller")


# What only a leader with reception days of their own is offered (Context.duty_days): the
# staff and the director swap any leader's days.
DUTY_DAYS_ONLY = ("flow:duty_swap",)


def menu_for(role: str, *, duty_days: bool = True) -> list[MenuItem]:
    """The role's main menu; a leader without reception days (`duty_days` False) is
    offered no swap of days, which would find none to swap."""
    items = [m for m in MENU if (not m.roles or role in m.roles) and not m.hidden
             and (duty_days or role != "leader" or m.value not in DUTY_DAYS_ONLY)]
    if role not in OWN_WORK_FIRST:
        return items
    own = sorted((m for m in items if m.roles),
                 key=lambda m: OWN_WORK.index(m.value) if m.value in OWN_WORK else len(OWN_WORK))
    return [*own, *(m for m in items if not m.roles)]


def reachable(role: str) -> list[MenuItem]:
    """What a role may start: its menu, and the items only a push's button opens."""
    return [m for m in MENU if not m.roles or role in m.roles]


# --- calendar: roster, visit ledger, liaison returns, reports, field work ---
from conversations.calendar_flows import CALENDAR_FLOWS, CALENDAR_MENU  # noqa: E402

FLOWS.update({f.name: f for f in CALENDAR_FLOWS})
MENU = (*MENU, *CALENDAR_MENU)
