"""反映问题 / Raise a problem: routing, leader cases, anonymity and the receipt code."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import Session, SQLModel, col, select

from bot.bootstrap import Services
from handlers.context import receipt_hash
from handlers.inbound import _RECEIPT_MARK
from store import outbox
from store.models import (
    Alert,
    Case,
    CaseEvent,
    IdentityRead,
    InboundMessage,
    Notification,
    Person,
    Workshop,
)
from tests.transcript import LANGS, SKIP, Chat, all_rows, draft, open_menu, t

DESCRIPTION = "十月份的加班费到现在还没有发下来"
OUTCOME = "补发十月加班费"
TODAY = date(2026, 11, 23)
ORDINARY_DUE = "2027-01-22"  # 60 days
LEADER_DUE = "2027-02-22"  # 90 days land on Sunday 02-21: the next working day
CODE = re.compile(r"[2-9A-Z]{5}-[2-9A-Z]{5}")
STEPS = ["category", "description", "since", "affected", "cosigners", "workshop", "outcome",
         "identity"]
VALID = ["1", DESCRIPTION, "2026-10-15", "3", SKIP, "1", OUTCOME, "1"]






def start(chat: Chat, lang: str) -> None:
    open_menu(chat, lang)
    chat.press(t(lang, "menu.complaint"))
    assert t(lang, "complaint.intro") in chat.text
    assert t(lang, "complaint.category.ask") in chat.text


def type_in(chat: Chat, lang: str, answers: list[str]) -> None:
    for answer in answers:
        # Typed one after another, not within seconds: "跳过" for the co-signers, then
        # "跳过" for the workshop, are two answers, not one sent twice.
        advance = getattr(chat.services.clock, "advance", None)
        if advance is not None:
            advance(timedelta(seconds=10))
        chat.say(t(lang, "nav.skip") if answer == SKIP else answer)


def fill(chat: Chat, lang: str, *, category: str = "wages", description: str = DESCRIPTION,
         since: str = "2026-10-15", affected: str = "3", cosigners: str | None = None,
         workshop: str = "铸造车间", outcome: str = OUTCOME, identity: str = "named") -> None:
    """Answer the eight questions, pressing buttons where there are some."""
    chat.press(t(lang, f"opt.category.{category}"))
    assert t(lang, "complaint.description.ask") in chat.text
    chat.say(description)
    assert t(lang, "complaint.since.ask") in chat.text
    chat.say(since)
    assert t(lang, "complaint.affected.ask") in chat.text
    chat.say(affected)
    assert t(lang, "complaint.cosigners.ask") in chat.text
    if cosigners is None:
        chat.press(t(lang, "nav.skip"))
    else:
        chat.say(cosigners)
    assert t(lang, "complaint.workshop.ask") in chat.text
    chat.press(workshop)
    assert t(lang, "complaint.outcome.ask") in chat.text
    chat.say(outcome)
    assert t(lang, "complaint.identity.ask") in chat.text
    chat.press(t(lang, f"opt.identity.{identity}"))
    assert t(lang, "review.title") in chat.text


def complain(chat: Chat, lang: str = "zh", **answers: Any) -> None:
    start(chat, lang)
    fill(chat, lang, **answers)
    chat.press(t(lang, "nav.confirm"))




def pid(services: Services, key: str) -> int:
    with Session(services.db) as s:
        found = s.exec(select(Person.id).where(Person.key == key)).one()
    assert found is not None
    return found




def alerted(services: Services, case: Case) -> set[int]:
    return {a.recipient_id for a in all_rows(services, Alert, Alert.subject == "case",
                                             Alert.subject_id == case.id)}


def has_review_line(text: str, label: str, value: str) -> bool:
    return any(line.startswith(f"• {label}") and line.endswith(value)
               for line in text.splitlines())


# --- a named complaint -----------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_named_complaint_is_registered_and_assigned_to_the_responsible_leader(
        services: Services, chat: Chat, lang: str) -> None:
    complain(chat, lang, category="wages", affected="3")

    assert t(lang, "complaint.done", number="C-2026-0001", due_on=ORDINARY_DUE, days=60) \
        in chat.text
    [case] = all_rows(services, Case)
    casting = all_rows(services, Workshop, Workshop.key == "casting")[0]
    assert re.fullmatch(r"C-\d{4}-\d{4}", case.number)
    assert (case.number, case.category, case.description, case.since) == (
        "C-2026-0001", "wages", DESCRIPTION, "2026-10-15")
    assert (case.affected, case.cosigners, case.workshop_id, case.outcome_wanted) == (
        3, 0, casting.id, OUTCOME)
    assert (case.anonymous, case.complainant_id, case.receipt_hash) == (
        False, pid(services, "li_ming"), None)
    assert (case.handler_id, case.status) == (pid(services, "zhao_guoqiang"), "assigned")
    assert (case.leader_case, case.leader_case_reason, case.deadline_days) == (False, None, 60)
    assert case.due_on.isoformat() == ORDINARY_DUE
    assert [e.kind for e in all_rows(services, CaseEvent)] == ["registered", "assigned"]


def test_the_responsible_leader_gets_an_alert_and_sees_who_complained(
        services: Services, chat: Chat) -> None:
    complain(chat, category="wages")
    [case] = all_rows(services, Case)
    zhao = pid(services, "zhao_guoqiang")

    [alert] = all_rows(services, Alert)
    assert (alert.subject, alert.subject_id, alert.recipient_id) == ("case", case.id, zhao)
    [push] = all_rows(services, Notification, Notification.alert_id == alert.id)
    assert (push.recipient_id, push.message_key, push.priority) == (
        zhao, "notice.case_new", outbox.ALERT)
    [read] = all_rows(services, IdentityRead)
    assert (read.case_id, read.reader_id, read.purpose) == (case.id, zhao, "case_alert")
    # the director is not alerted for an ordinary case; the staff get a routine notice
    assert pid(services, "chen_lihua") not in alerted(services, case)
    [staff] = all_rows(services, Notification, Notification.message_key == "notice.case_staff")
    assert staff.recipient_id == pid(services, "liu_fang")

    leader = Chat(services, person="zhao_guoqiang")
    leader.say("菜单")  # he last used the console, so the push lands there
    services.dispatcher.drain()
    [notice] = leader.inbox()
    assert notice.text.startswith("【交办】C-2026-0001 工资福利")
    assert "反映人：李明" in notice.text
    assert notice.buttons[0]["value"] == f"ack:{alert.id}"


def test_a_case_of_no_particular_workshop_says_so_to_its_handler(
        services: Services, chat: Chat) -> None:
    """"不清楚 / 不涉及具体车间" chosen: the handler reads it, not "（未填）"."""
    complain(chat, workshop=t("zh", "opt.workshop.unknown"))
    leader = Chat(services, person="zhao_guoqiang")
    leader.say("菜单")
    services.dispatcher.drain()
    [notice] = leader.inbox()
    assert "涉及 3 人，" + t("zh", "opt.workshop.unknown") + "\n" in notice.text


def test_one_person_affected_reads_as_one_person_in_english(
        services: Services, chat: Chat) -> None:
    """A problem of one person: the handler read "1 people affected"."""
    leader = Chat(services, person="zhao_guoqiang")
    open_menu(leader, "en")  # he reads English
    complain(chat, "en", affected="1")
    services.dispatcher.drain()
    [notice] = leader.inbox()
    assert notice.text.startswith("[CASE] C-2026-0001 Wages and benefits\n"
                                  "1 person affected, 铸造车间\n")


@pytest.mark.parametrize(
    ("category", "leader"),
    [("wages", "zhao_guoqiang"), ("contract", "zhao_guoqiang"), ("hours", "zhao_guoqiang"),
     ("safety", "wu_jianjun"), ("living", "wu_jianjun"), ("management", "sun_hongmei"),
     ("other", "chen_lihua")],
)
def test_category_routes_the_case_to_its_leader(services: Services, chat: Chat,
                                                category: str, leader: str) -> None:
    complain(chat, category=category)
    [case] = all_rows(services, Case)
    assert case.category == category
    assert case.handler_id == pid(services, leader)
    assert alerted(services, case) == {pid(services, leader)}
    pushes = all_rows(services, Notification, Notification.message_key == "notice.case_new")
    assert [p.recipient_id for p in pushes] == [pid(services, leader)]


# --- leader cases ----------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "typed"), [("zh", "二十五"), ("en", "25")])
def test_25_affected_make_a_leader_case_of_90_days_and_alert_the_director(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    complain(chat, lang, category="wages", affected=typed)

    assert t(lang, "complaint.done_leader", number="C-2026-0001", due_on=LEADER_DUE, days=90) \
        in chat.text
    [case] = all_rows(services, Case)
    assert (case.affected, case.leader_case, case.leader_case_reason) == (25, True, "many_people")
    assert (case.deadline_days, case.due_on.isoformat()) == (90, LEADER_DUE)
    assert alerted(services, case) == {pid(services, "zhao_guoqiang"),
                                       pid(services, "chen_lihua")}
    pushes = all_rows(services, Notification, col(Notification.alert_id).is_not(None))
    assert {p.message_key for p in pushes} == {"notice.case_leader_why"}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("affected", "cosigners", "leader_case"),
    [("19", None, False), ("20", None, True), ("1", "20", True), ("1", "19", False)],
    ids=["19-affected", "20-affected", "20-cosigners", "19-cosigners"],
)
def test_twenty_people_affected_or_cosigning_make_a_leader_case(
        services: Services, chat: Chat, lang: str, affected: str, cosigners: str | None,
        leader_case: bool) -> None:
    complain(chat, lang, affected=affected, cosigners=cosigners)
    [case] = all_rows(services, Case)
    assert case.cosigners == int(cosigners or 0)
    assert case.leader_case is leader_case
    assert case.deadline_days == (90 if leader_case else 60)
    assert (pid(services, "chen_lihua") in alerted(services, case)) is leader_case


@pytest.mark.parametrize("lang", LANGS)
def test_second_named_complaint_in_the_same_category_is_a_repeat_leader_case(
        services: Services, chat: Chat, lang: str) -> None:
    complain(chat, lang, category="wages")
    complain(chat, lang, category="safety", description="车间通风设备坏了一个多月了")
    complain(chat, lang, category="wages", description="十一月的加班费又没有按时发放")

    assert t(lang, "complaint.done_leader", number="C-2026-0003", due_on=LEADER_DUE, days=90) \
        in chat.text
    first, other, repeat = all_rows(services, Case)
    assert (first.leader_case, other.leader_case) == (False, False)
    assert (repeat.leader_case, repeat.leader_case_reason, repeat.deadline_days) == (
        True, "repeat", 90)
    assert pid(services, "chen_lihua") in alerted(services, repeat)


def _readers(services: Services, lang: str, *keys: str) -> None:
    """The people read their pushes in `lang` (they last used the console in it)."""
    for key in keys:
        open_menu(Chat(services, person=key), lang)


def _inbox(services: Services, key: str) -> list[str]:
    services.dispatcher.drain()
    return [m.text for m in Chat(services, person=key).inbox()]


@pytest.mark.parametrize("lang", LANGS)
def test_a_joint_letters_leader_case_says_how_many_signed_it(
        services: Services, chat: Chat, lang: str) -> None:
    """3 affected, 25 co-signers: the handling leader and the director read 【领导包案】
    with 涉及 3 人 and nothing of the 25 who signed; the staff read an ordinary 新登记问题.
    Now each is told why it is a leader case."""
    _readers(services, lang, "zhao_guoqiang", "chen_lihua", "liu_fang")
    complain(chat, lang, affected="3", cosigners="25")
    why = t(lang, "case.why.joint", cosigners=25)
    [case] = all_rows(services, Case)
    for key in ("zhao_guoqiang", "chen_lihua"):
        [alert] = _inbox(services, key)
        assert alert.startswith(t(
            lang, "notice.case_leader_why", number="C-2026-0001",
            category=t(lang, "opt.category.wages"), why=why, affected=3, workshop="铸造车间",
            description=DESCRIPTION, outcome=OUTCOME, complainant="李明", due_on=LEADER_DUE))
    assert _inbox(services, "liu_fang") == [t(
        lang, "notice.case_staff_leader", number="C-2026-0001",
        category=t(lang, "opt.category.wages"), summary=DESCRIPTION, why=why, name="赵国强",
        due_on=case.due_on.isoformat())]


@pytest.mark.parametrize("lang", LANGS)
def test_a_repeat_leader_case_names_the_earlier_case_to_its_handler_not_the_staff(
        services: Services, chat: Chat, lang: str) -> None:
    """The handling leader and the director, who see who complained, read which earlier
    case makes it a repeat; the staff, who do not, read only that it is one."""
    complain(chat, lang, category="wages")
    _readers(services, lang, "zhao_guoqiang", "chen_lihua", "liu_fang")
    complain(chat, lang, category="wages", description="十一月的加班费又没有按时发放")
    said = t(lang, "case.why.repeat", numbers="C-2026-0001")
    for key in ("zhao_guoqiang", "chen_lihua"):
        [alert] = [p for p in _inbox(services, key) if "C-2026-0002" in p]
        assert alert.splitlines()[1] == t(
            lang, "notice.case_leader_why", number="", category="", why=said, affected=0,
            workshop="", description="", outcome="", complainant="", due_on="").splitlines()[1]
    staff = _inbox(services, "liu_fang")[-1]
    assert staff == t(lang, "notice.case_staff_leader", number="C-2026-0002",
                      category=t(lang, "opt.category.wages"),
                      summary="十一月的加班费又没有按时发放",
                      why=t(lang, "case.why.repeat_withheld"), name="赵国强", due_on=LEADER_DUE)
    assert "C-2026-0001" not in staff


def test_a_repeat_needs_the_same_named_person(services: Services, chat: Chat) -> None:
    complain(chat, category="wages")
    complain(Chat(services, person="zhang_wei"), category="wages")  # someone else
    complain(chat, category="wages", identity="anonymous")  # anonymity is never a repeat
    assert [c.leader_case for c in all_rows(services, Case)] == [False, False, False]


# --- anonymous complaints and the receipt code ------------------------------------------


def anonymous_complaint(services: Services, chat: Chat, lang: str) -> str:
    complain(chat, lang, category="safety", identity="anonymous",
             description="车间通风设备坏了一个多月了")
    found = CODE.search(chat.text)
    assert found, chat.text
    return found[0]


@pytest.mark.parametrize("lang", LANGS)
def test_anonymous_complaint_shows_its_receipt_code_once(services: Services, chat: Chat,
                                                         lang: str) -> None:
    code = anonymous_complaint(services, chat, lang)

    assert t(lang, "complaint.done_anonymous", number="C-2026-0001", due_on=ORDINARY_DUE,
             days=60, code=code) in chat.text
    [case] = all_rows(services, Case)
    assert (case.anonymous, case.complainant_id) == (True, None)
    assert case.handler_id == pid(services, "wu_jianjun")
    assert re.fullmatch(r"[0-9a-f]{64}", case.receipt_hash or "")
    assert case.receipt_hash == receipt_hash(code)
    assert all_rows(services, IdentityRead) == []  # nobody can read an identity there is not
    leader = Chat(services, person="wu_jianjun")
    leader.say("菜单")
    services.dispatcher.drain()
    [notice] = leader.inbox()
    assert "反映人：匿名" in notice.text and "李明" not in notice.text

    chat.press(t(lang, "menu.my_cases"))  # later answers never show it again
    assert code not in chat.text


def test_the_receipt_code_is_stored_in_no_table(services: Services, chat: Chat) -> None:
    code = anonymous_complaint(services, chat, "zh")
    services.dispatcher.drain()
    folded = code.replace("-", "")
    with Session(services.db) as s:
        conn = s.connection()
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                text = " ".join(str(v) for v in row)
                assert code not in text and folded not in text, table.name
    # the reply as stored for a re-delivery has the code blanked out
    stored = [r["text"] for m in all_rows(services, InboundMessage) for r in m.replies]
    assert any(_RECEIPT_MARK in text for text in stored)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("form", ["as shown", "lower case", "without dash", "spaced",
                                  "full width", "with its name"])
def test_receipt_code_opens_the_case_status(services: Services, chat: Chat, lang: str,
                                            form: str) -> None:
    code = anonymous_complaint(services, chat, lang)
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in code)
    typed = {"as shown": code, "lower case": code.lower(), "without dash": code.replace("-", ""),
             "spaced": " " + code.lower().replace("-", " ") + " ",
             "full width": wide,  # a Chinese input method's ＡＢ３ＣＤ－ＥＦ４ＧＨ
             "with its name": f"回执码：{code}"}[form]

    chat.press(t(lang, "menu.receipt"))
    assert t(lang, "receipt.intro") in chat.text
    assert t(lang, "receipt.code.ask") in chat.text
    chat.say(typed)

    assert t(lang, "receipt.found", number="C-2026-0001",
             category=t(lang, "opt.category.safety"), status=t(lang, "status.assigned"),
             handler="吴建军", due_on=ORDINARY_DUE, updated="2026-11-23") in chat.text
    assert t(lang, "menu.prompt") in chat.text
    assert draft(services, chat)["flow"] is None


@pytest.mark.parametrize("lang", LANGS)
def test_wrong_receipt_code_is_asked_again(services: Services, chat: Chat, lang: str) -> None:
    code = anonymous_complaint(services, chat, lang)
    chat.press(t(lang, "menu.receipt"))

    chat.say("ZZZZZ-ZZZZZ")
    assert chat.replies[0].text == t(lang, "receipt.not_found")
    assert t(lang, "receipt.code.ask") in chat.replies[-1].text
    assert draft(services, chat)["flow"] == "receipt"

    chat.say("AB3")
    assert chat.replies[0].text == t(lang, "invalid.too_short", min=6, got=3)

    chat.say(code)
    assert t(lang, "status.assigned") in chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_my_cases_lists_the_named_cases_only(services: Services, chat: Chat,
                                             lang: str) -> None:
    open_menu(chat, lang)
    chat.press(t(lang, "menu.my_cases"))
    assert t(lang, "query.my_cases.none") in chat.text

    complain(chat, lang, category="wages")
    anonymous_complaint(services, chat, lang)
    complain(chat, lang, category="hours", affected="30")
    chat.press(t(lang, "menu.my_cases"))

    assert t(lang, "query.my_cases.title") in chat.text
    assert t(lang, "case.line", number="C-2026-0001", category=t(lang, "opt.category.wages"),
             status=t(lang, "status.assigned"), due_on=ORDINARY_DUE) in chat.text
    assert t(lang, "case.line", number="C-2026-0003", category=t(lang, "opt.category.hours"),
             status=t(lang, "status.assigned"), due_on=LEADER_DUE) in chat.text
    assert "C-2026-0002" not in chat.text  # the anonymous one
    assert t(lang, "menu.prompt") in chat.text


# --- wrong answers ---------------------------------------------------------------------

WRONG = [
    # (step, bad input, catalog key of the reason, its parameters)
    ("category", "99", "invalid.choice", {"count": 7}),
    ("category", SKIP, "invalid.not_optional", {}),
    ("description", "工资没发", "invalid.too_short", {"min": 10, "got": 4}),
    ("description", "字" * 2001, "invalid.too_long", {"max": 2000, "got": 2001}),
    ("description", "   ", "invalid.empty", {}),
    ("description", SKIP, "invalid.not_optional", {}),
    ("since", "2026-12-01", "invalid.date_future", {}),
    ("since", "2027年1月", "invalid.date_future", {}),
    ("since", "下个月", "invalid.date", {}),
    ("since", SKIP, "invalid.not_optional", {}),
    ("affected", "很多人", "invalid.number", {}),
    ("affected", "0", "invalid.number_range", {"min": 1, "max": 100000}),
    ("affected", "100001", "invalid.number_range", {"min": 1, "max": 100000}),
    ("affected", SKIP, "invalid.not_optional", {}),
    ("cosigners", "一些", "invalid.number", {}),
    ("cosigners", "100001", "invalid.number_range", {"min": 0, "max": 100000}),
    ("workshop", "第九车间", "invalid.choice", {"count": 5}),
    ("workshop", SKIP, "invalid.not_optional", {}),
    ("outcome", "好", "invalid.too_short", {"min": 2, "got": 1}),
    ("outcome", "字" * 1001, "invalid.too_long", {"max": 1000, "got": 1001}),
    ("identity", "看情况", "invalid.choice", {"count": 2}),
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("step", "bad", "key", "params"), WRONG,
                         ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG)])
def test_wrong_answer_is_refused_with_its_reason_and_changes_nothing(
        services: Services, chat: Chat, lang: str, step: str, bad: str, key: str,
        params: dict[str, Any]) -> None:
    start(chat, lang)
    type_in(chat, lang, VALID[:STEPS.index(step)])
    kept = draft(services, chat)
    assert kept["step"] == step

    type_in(chat, lang, [bad])

    assert chat.replies[0].text == t(lang, key, **params)
    assert t(lang, f"complaint.{step}.ask") in chat.replies[-1].text
    assert draft(services, chat) == kept
    assert all_rows(services, Case) == []


@pytest.mark.parametrize(("typed", "since"), [("Oct 15", "2026-10-15"),
                                               ("15 October", "2026-10-15"),
                                               ("October", "2026-10")])
def test_since_when_typed_with_an_english_month_name(
        services: Services, chat: Chat, typed: str, since: str) -> None:
    start(chat, "en")
    fill(chat, "en", since=typed)
    review = chat.replies[-1].text
    assert has_review_line(review, t("en", "complaint.since.label"), since)


# --- review, back, cancel --------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_review_shows_every_answer(chat: Chat, lang: str) -> None:
    start(chat, lang)
    fill(chat, lang, category="living", since="2026年10月", affected="约25人",
         workshop="总装车间", identity="anonymous")
    review = chat.replies[-1].text
    expected = {
        "category": t(lang, "opt.category.living"), "description": DESCRIPTION,
        "since": "2026-10", "affected": "25", "cosigners": t(lang, "review.skipped"),
        "workshop": "总装车间", "outcome": OUTCOME,
        "identity": t(lang, "opt.identity.anonymous"),
    }
    for step, value in expected.items():
        assert has_review_line(review, t(lang, f"complaint.{step}.label"), value), step


@pytest.mark.parametrize("lang", LANGS)
def test_back_reasks_earlier_answers_and_collects_later_ones_again(
        services: Services, chat: Chat, lang: str) -> None:
    start(chat, lang)
    type_in(chat, lang, VALID[:2])  # category, description

    chat.press(t(lang, "nav.back"))  # at "since": back to the description
    assert t(lang, "flow.progress", n=2, total=8) + " " \
        + t(lang, "complaint.description.ask") in chat.text
    chat.say("十一月份的加班费到现在还没有发")
    assert t(lang, "complaint.since.ask") in chat.text
    chat.say("2026-10-15")
    chat.press(t(lang, "nav.back"))  # at "affected": back to "since"
    assert t(lang, "complaint.since.ask") in chat.text
    chat.say("昨天" if lang == "zh" else "yesterday")
    assert t(lang, "complaint.affected.ask") in chat.text
    type_in(chat, lang, ["3", SKIP, "1", OUTCOME, "1"])
    assert t(lang, "review.title") in chat.text

    chat.press(t(lang, "nav.back"))  # the review: back to the identity
    chat.press(t(lang, "nav.back"))  # and to the outcome
    assert t(lang, "complaint.outcome.ask") in chat.text
    chat.say("按规定补发加班费并道歉")
    assert t(lang, "complaint.identity.ask") in chat.text  # asked again, not remembered
    chat.press(t(lang, "opt.identity.named"))
    chat.press(t(lang, "nav.confirm"))

    [case] = all_rows(services, Case)
    assert (case.description, case.since, case.outcome_wanted) == (
        "十一月份的加班费到现在还没有发", "2026-11-22", "按规定补发加班费并道歉")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("answered", [0, 3, 5, 8], ids=["category", "affected", "workshop",
                                                        "review"])
def test_cancel_at_any_step_stores_nothing(services: Services, chat: Chat, lang: str,
                                           answered: int) -> None:
    start(chat, lang)
    type_in(chat, lang, VALID[:answered])
    chat.press(t(lang, "nav.cancel"))

    assert t(lang, "flow.cancelled") in chat.text
    assert t(lang, "menu.prompt") in chat.text
    for model in (Case, CaseEvent, Alert, Notification, IdentityRead):
        assert all_rows(services, model) == [], model.__name__
    assert draft(services, chat)["flow"] is None


@pytest.mark.parametrize(("lang", "typed", "anonymous"), [
    ("en", "anonymous", True), ("en", "Anonymous.", True), ("en", "with my name", False),
    ("zh", "不留名", True), ("zh", "留名", False)])
def test_identity_is_understood_in_a_users_own_words(services: Services, chat: Chat,
                                                     lang: str, typed: str,
                                                     anonymous: bool) -> None:
    """'anonymous' typed, not the button's "Anonymously", still files anonymously."""
    start(chat, lang)
    fill(chat, lang)
    chat.press(t(lang, "nav.back"))
    assert t(lang, "complaint.identity.ask") in chat.text
    chat.say(typed)
    assert t(lang, "review.title") in chat.text, chat.text
    assert has_review_line(chat.text, t(lang, "complaint.identity.label"),
                           t(lang, f"opt.identity.{'anonymous' if anonymous else 'named'}"))
    chat.press(t(lang, "nav.confirm"))
    [case] = all_rows(services, Case)
    assert case.anonymous is anonymous


@pytest.mark.parametrize(("lang", "typed", "shown"), [
    ("en", "dunno", "opt.workshop.unknown"), ("en", "Don\u2019t know", "opt.workshop.unknown"),
    ("en", "not sure", "opt.workshop.unknown"), ("zh", "不知道", "opt.workshop.unknown"),
    ("zh", "不清楚", "opt.workshop.unknown"), ("zh", "铸造", "铸造车间"),
    ("en", "机加工", "机加工车间")])
def test_the_workshop_is_understood_in_a_users_own_words(services: Services, chat: Chat,
                                                         lang: str, typed: str,
                                                         shown: str) -> None:
    """'dunno' typed for "Not sure / no particular workshop", 铸造 for 铸造车间."""
    start(chat, lang)
    chat.press(t(lang, "opt.category.wages"))
    type_in(chat, lang, [DESCRIPTION, "2026-10-15", "3", SKIP])
    assert t(lang, "complaint.workshop.ask") in chat.text
    chat.say(typed)
    assert t(lang, "complaint.outcome.ask") in chat.text, chat.text
    type_in(chat, lang, [OUTCOME, "1"])
    label = t(lang, shown) if shown.startswith("opt.") else shown
    assert has_review_line(chat.text, t(lang, "complaint.workshop.label"), label)


@pytest.mark.parametrize("lang", LANGS)
def test_a_word_of_several_workshops_names_them_and_asks_again(services: Services, chat: Chat,
                                                               lang: str) -> None:
    """车间 is in the name of every workshop (not of the office): which one is asked, not
    guessed, each with its number."""
    start(chat, lang)
    chat.press(t(lang, "opt.category.wages"))
    type_in(chat, lang, [DESCRIPTION, "2026-10-15", "3", SKIP])
    chat.say("车间")
    sep = t(lang, "list.sep")
    assert t(lang, "invalid.choice_which", typed="车间", options=sep.join(
        ["1. 铸造车间", "2. 机加工车间", "3. 总装车间", f"5. {t(lang, 'opt.workshop.unknown')}"])) \
        in chat.text, chat.text
    assert draft(services, chat)["step"] == "workshop"


@pytest.mark.parametrize("typed", ["in my workshop", "workshop", "My workshop."])
def test_the_questions_own_word_picks_no_workshop(services: Services, chat: Chat,
                                                  typed: str) -> None:
    """Asked "Which workshop or section is it in?", an English worker types "my workshop":
    the only English label with that word is "Not sure / no particular workshop", which
    was taken silently. The question's own words choose nothing: asked again."""
    start(chat, "en")
    chat.press(t("en", "opt.category.wages"))
    type_in(chat, "en", [DESCRIPTION, "2026-10-15", "3", SKIP])
    chat.say(typed)
    assert t("en", "complaint.outcome.ask") not in chat.text
    assert t("en", "complaint.workshop.ask") in chat.replies[-1].text
    assert draft(services, chat)["answers"].get("workshop") is None


@pytest.mark.parametrize("lang", LANGS)
def test_what_happened_typed_where_the_category_is_asked_is_kept_for_its_question(
        services: Services, chat: Chat, lang: str) -> None:
    """The complaint's 经过 typed to "what kind of problem?" is kept, not dropped; words too
    short for 经过 (10 characters at least) are still told to choose a category."""
    start(chat, lang)
    chat.say("加班费少算了很多")  # 8 characters: not enough for what happened
    assert t(lang, "flow.kept_ahead", label=t(lang, "complaint.description.label")) \
        not in chat.text
    assert "description" not in draft(services, chat)["answers"]
    chat.say(DESCRIPTION)
    assert chat.replies[0].text == t(lang, "flow.kept_ahead",
                                     label=t(lang, "complaint.description.label"))
    assert t(lang, "complaint.category.ask") in chat.replies[-1].text
    chat.press(t(lang, "opt.category.wages"))
    assert t(lang, "complaint.description.ask") not in chat.text
    assert t(lang, "complaint.since.ask") in chat.text
    assert draft(services, chat)["answers"] == {"category": "wages",
                                                "description": DESCRIPTION}


# --- the kind of problem the words already told ------------------------------------------

CATEGORIES = ["wages", "safety", "hours", "contract", "living", "management", "other"]


def _category_labels(lang: str, first: str | None = None) -> list[str]:
    order = CATEGORIES if first is None else [first] + [c for c in CATEGORIES if c != first]
    return [t(lang, f"opt.category.{c}") for c in order]


@pytest.mark.parametrize(("lang", "words", "kind"), [
    ("zh", "车间里粉尘太大，也没有发防护口罩", "safety"),
    ("zh", DESCRIPTION, "wages"),  # 加班费, not the 加班 inside it (working hours)
    ("zh", "宿舍的热水器坏了两个星期没人修", "living"),
    ("en", "I was fired without any notice last week", "contract"),
    ("en", "The foreman shouted at us in front of everyone", "management"),
])
def test_the_kind_the_words_point_to_is_offered_first(
        services: Services, chat: Chat, lang: str, words: str, kind: str) -> None:
    """What happened typed where the kind of problem is asked: the kind its words point to
    is the first button, said so; "1" typed (WeChat, the console) is that kind."""
    start(chat, lang)
    chat.say(words)
    label = t(lang, f"opt.category.{kind}")
    asked = chat.replies[-1]
    assert t(lang, "choice.guessed", label=label) in asked.text
    assert chat.labels()[:len(CATEGORIES)] == _category_labels(lang, kind)
    chat.say("1")
    assert t(lang, "complaint.since.ask") in chat.text
    assert draft(services, chat)["answers"] == {"category": kind, "description": words}


@pytest.mark.parametrize(("lang", "words"), [
    ("zh", "食堂的饭菜太差，工资也总是晚发好几天"),  # the canteen and wages: which one?
    ("zh", "这个事情说来话长，希望领导重视一下"),  # no kind at all
    ("en", "The canteen food is awful and the pay is always late"),
])
def test_words_pointing_to_no_kind_or_to_several_leave_the_list_as_it_is(
        services: Services, chat: Chat, lang: str, words: str) -> None:
    start(chat, lang)
    chat.say(words)
    assert t(lang, "choice.guessed", label="|").split("|")[0] not in chat.text
    assert chat.labels()[:len(CATEGORIES)] == _category_labels(lang)
    chat.say("1")
    assert draft(services, chat)["answers"]["category"] == "wages"


@pytest.mark.parametrize(("lang", "chosen", "kind"), [
    ("zh", "opt.category.management", "management"), ("en", "2", "wages")])
def test_the_kind_first_is_still_a_choice(services: Services, chat: Chat, lang: str,
                                          chosen: str, kind: str) -> None:
    """The kind put first is only a suggestion: another pressed is the answer, and a
    number typed is the option at that place in the list as shown (2: wages, after
    safety)."""
    start(chat, lang)
    chat.say("车间里粉尘太大，也没有发防护口罩")
    if chosen.startswith("opt."):
        chat.press(t(lang, chosen))
    else:
        chat.say(chosen)
    assert t(lang, "complaint.since.ask") in chat.text
    assert draft(services, chat)["answers"]["category"] == kind
