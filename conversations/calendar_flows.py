"""The calendar's flows: the reception roster, the visit ledger, the liaisons' returns,
the reports, shop-floor visits and the work log."""

from __future__ import annotations

from conversations.answers import Choice, DateAnswer, Number, Option, Text
from conversations.flow import Ask, Flow, MenuItem

RECEPTION_FORMS = ("fixed", "invited", "topic", "onsite")
ROSTER_ACTIONS = ("generate", "plan", "away", "schedule")
AWAY_KINDS = ("leave", "trip")
PUBLISH_DAYS = ("daily", "0", "1", "2", "3", "4", "5", "6")
RISKS = ("low", "medium", "high")
SCREENING_ANSWERS = ("dispute", "zero")
WARNING_ACTIONS = ("case", "emergency")
# What may be done to a report: each role is offered its own (handlers/reports.offered).
REPORT_ACTIONS = ("note", "submit", "approve", "return")
# Information reports (000 制度(八)): major or sudden ones within 1 working day of arising,
# time-sensitive ones within 2, plans and summaries within 4 (handlers/reports.INFO_DAYS).
INFO_GRADES = ("major", "timely", "plan")
INFO_SIGN = ("director", "direct")
LOG_KINDS = ("daily", "exchange")
CASE_CATEGORIES = ("wages", "safety", "hours", "contract", "living", "management", "other")
STAFF = ("staff", "director")
# Who keeps a work log: the workroom's staff (000 制度(六) 二), and the leaders going down to
# the shop floor and the upper union's cadres stationed in the workroom, who keep its daily
# record, weekly report and monthly exchange (000 六.2 进驻人员要坚持撰写工作日志; 004 七.2).
LOG_ROLES = ("staff", "director", "leader", "upper_union")


def _options(group: str, values: tuple[str, ...]) -> tuple[Option, ...]:
    return tuple(Option(v, f"opt.{group}.{v}") for v in values)


def _on(step: str, *values: str) -> tuple[str, tuple[str, ...]]:
    return (step, values)


# Staff build the roster: generate days from the plan, set the plan, record a leader away,
# set when the roster is published.
ROSTER = Flow(
    "roster",
    (
        Ask("action", Choice(_options("roster_action", ROSTER_ACTIONS))),
        Ask("start", DateAnswer(past_only=False), when=_on("action", "generate")),
        Ask("days", Number(1, 60), when=_on("action", "generate")),
        Ask("leaders", Text(2, 300), when=_on("action", "plan")),
        Ask("union", Text(2, 300), optional=True, when=_on("action", "plan")),
        Ask("hours", Text(5, 20), when=_on("action", "plan")),
        Ask("place", Text(2, 200), when=_on("action", "plan")),
        Ask("form", Choice(_options("reception_form", RECEPTION_FORMS)),
            when=_on("action", "plan")),
        Ask("leader", Choice(source="duty_leaders", named=True), when=_on("action", "away")),
        Ask("first", DateAnswer(past_only=False), when=_on("action", "away")),
        Ask("last", DateAnswer(past_only=False), when=_on("action", "away")),
        Ask("kind", Choice(_options("away_kind", AWAY_KINDS)), when=_on("action", "away")),
        Ask("weekday", Choice(_options("publish_day", PUBLISH_DAYS)),
            when=_on("action", "schedule")),
        Ask("at", Text(4, 5), when=_on("action", "schedule")),
        Ask("horizon", Number(3, 30), when=_on("action", "schedule")),
    ),
    roles=STAFF,
)

# A leader swaps one of their reception days with another leader's (staff: any two days).
DUTY_SWAP = Flow(
    "duty_swap",
    (
        Ask("mine", Choice(source="swap_from")),
        Ask("other", Choice(source="swap_to")),
        Ask("reason", Text(2, 300)),
    ),
    roles=("leader", "director", "staff"),
)

# The leader fills the visit ledger (接访台帐) after a visit; unsolved: a case, 交办.
VISIT_RECORD = Flow(
    "visit_record",
    (
        Ask("visit", Choice(source="my_receptions")),
        Ask("visitor", Text(1, 100)),
        Ask("unit", Text(1, 100)),
        Ask("problem", Text(2, 1000)),
        Ask("cause", Text(2, 1000)),
        Ask("opinion", Text(2, 1000)),
        Ask("responsible", Text(2, 100)),
        Ask("solved", Choice(_options("solved", ("yes", "no")))),
        Ask("result", Text(2, 1000), when=_on("solved", "yes")),
        Ask("category", Choice(_options("category", CASE_CATEGORIES)), when=_on("solved", "no")),
        Ask("instruction", Text(2, 1000), when=_on("solved", "no")),
    ),
    roles=("leader", "director", "staff"),
)

# A booked visitor who did not come (未到): one tap records it in the ledger, the booking
# is closed and its employee told how to book again.
VISIT_MISSED = Flow(
    "visit_missed",
    (Ask("visit", Choice(source="missed_visits")),),
    roles=("leader", "director", "staff"),
)

# The monthly dispute screening return of a workshop, one dispute at a time, or 零报告.
SCREENING = Flow(
    "screening",
    (
        Ask("return", Choice(source="my_returns")),
        Ask("answer", Choice(_options("screening_answer", SCREENING_ANSWERS))),
        Ask("what", Text(4, 1000), when=_on("answer", "dispute")),
        Ask("people", Number(1, 100000, estimate=True), when=_on("answer", "dispute")),
        Ask("risk", Choice(_options("risk", RISKS)), when=_on("answer", "dispute")),
        Ask("lead_dept", Text(2, 100), when=_on("answer", "dispute")),
        Ask("lead_person", Text(2, 100), when=_on("answer", "dispute")),
        Ask("measures", Text(2, 1000), when=_on("answer", "dispute")),
        Ask("deadline", DateAnswer(past_only=False), when=_on("answer", "dispute")),
    ),
    roles=("liaison", "staff", "director"),
)

# A high-risk dispute of the warning ledger becomes a case or an emergency in one step.
WARNING_ACTION = Flow(
    "warning_action",
    (
        Ask("warning", Choice(source="open_warnings")),
        Ask("action", Choice(_options("warning_action", WARNING_ACTIONS))),
    ),
    roles=STAFF,
)

# A drafted report: the staff add a note and submit it; the director approves (it is sent
# to the upper union) or returns it with a reason. Each is offered their own actions
# (handlers/reports.offered), below what the report says (handlers/reports.content).
REPORT_ACTION = Flow(
    "report_action",
    (
        Ask("report", Choice(source="open_reports")),
        Ask("action", Choice(source="report_actions", given="report", named=True),
            preface="report"),
        Ask("note", Text(2, 2000), when=_on("action", "note")),
        Ask("reason", Text(2, 500), when=_on("action", "return")),
    ),
    roles=STAFF,
)

# An information report to the upper union, written by the staff: what kind (it sets the
# working days it may take), the day it arose, a title and the text. A major one is signed
# by the director before it goes (重要信息必须经主任审签); another only when the writer says
# it is important.
INFO_REPORT = Flow(
    "info_report",
    (
        Ask("grade", Choice(_options("info_grade", INFO_GRADES))),
        Ask("arose", DateAnswer()),
        Ask("headline", Text(2, 60)),
        Ask("text", Text(10, 3000)),
        Ask("sign", Choice(_options("info_sign", INFO_SIGN)), when=_on("grade", "timely", "plan")),
    ),
    roles=STAFF,
)

# A shop-floor visit, logged in under a minute: no review step.
FIELD_VISIT = Flow(
    "field_visit",
    (
        Ask("workshop", Choice(source="workshops", named=True)),
        Ask("talked_with", Text(2, 300)),
        Ask("issues", Text(2, 2000)),
    ),
    review=False,
    roles=STAFF,
)

# The work log: a daily entry, or the minutes of the monthly exchange.
WORK_LOG = Flow(
    "work_log",
    (
        Ask("kind", Choice(_options("log_kind", LOG_KINDS))),
        Ask("text", Text(2, 4000)),
    ),
    review=False,
    roles=LOG_ROLES,
)

# The staff invite a complainant to a 重点约访 about an open case, or schedule a leader's
# 带案下访 to a workshop (its liaison is told).
INVITE = Flow(
    "invite",
    (
        Ask("kind", Choice(_options("invite_kind", ("invited", "onsite")))),
        Ask("case", Choice(source="invite_cases")),
        Ask("slot", Choice(source="duty_slots", dated=True), when=_on("kind", "invited")),
        Ask("leader", Choice(source="duty_leaders", named=True), when=_on("kind", "onsite")),
        Ask("day", DateAnswer(past_only=False), when=_on("kind", "onsite")),
        Ask("hours", Text(5, 20), when=_on("kind", "onsite")),
        Ask("workshop", Choice(source="workshops", named=True), when=_on("kind", "onsite")),
        Ask("note", Text(2, 300)),
    ),
    roles=STAFF,
)

# The invited employee accepts, or chooses another published reception.
INVITATION = Flow(
    "invitation",
    (
        Ask("invite", Choice(source="my_invitations")),
        Ask("answer", Choice(_options("invite_answer", ("accept", "other")))),
        Ask("slot", Choice(source="duty_slots", dated=True), when=_on("answer", "other")),
    ),
    review=False,
)

CALENDAR_FLOWS = (ROSTER, DUTY_SWAP, VISIT_RECORD, VISIT_MISSED, SCREENING, WARNING_ACTION,
                  REPORT_ACTION, INFO_REPORT, FIELD_VISIT, WORK_LOG, INVITE, INVITATION)

CALENDAR_MENU = (
    MenuItem("query:roster", "menu.cal_roster_view", roles=("leader", "director", "staff")),
    MenuItem("flow:roster", "menu.cal_roster", roles=STAFF),
    MenuItem("flow:duty_swap", "menu.cal_duty_swap", roles=("leader", "director", "staff")),
    MenuItem("flow:visit_record", "menu.cal_visit_record", roles=("leader", "director")),
    MenuItem("flow:visit_missed", "menu.cal_visit_missed", roles=("leader", "director")),
    # The staff fill in a visit the leader left out of the ledger, from the push telling
    # them of it (handlers/bookings.py: LEDGER_STAFF).
    MenuItem("flow:visit_record", "menu.cal_visit_record", roles=("staff",), hidden=True),
    MenuItem("flow:visit_missed", "menu.cal_visit_missed", roles=("staff",), hidden=True),
    MenuItem("flow:screening", "menu.cal_screening", roles=("liaison", "staff", "director")),
    MenuItem("query:warnings", "menu.cal_warnings", roles=STAFF),
    MenuItem("flow:warning_action", "menu.cal_warning_action", roles=STAFF),
    MenuItem("flow:report_action", "menu.cal_report_action", roles=STAFF),
    MenuItem("flow:info_report", "menu.cal_info_report", roles=STAFF),
    MenuItem("flow:field_visit", "menu.cal_field_visit", roles=STAFF),
    MenuItem("flow:work_log", "menu.cal_work_log", roles=LOG_ROLES),
    MenuItem("flow:invite", "menu.cal_invite", roles=STAFF),
    MenuItem("flow:invitation", "menu.cal_invitation", hidden=True),
)
