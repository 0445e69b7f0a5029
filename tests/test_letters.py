"""Letters to a leader (领导来信, 001 (二)): every letter registered; one to the chairman
read by the director, one to a leader by name read by that leader (领导亲自阅示), one to
no leader in particular routed by its category as a complaint is; each then answered,
with a deadline, as a case, and a writer who wants it anonymous keeps a receipt code."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from store.models import Case, CaseEvent, IdentityRead
from tests.case_helpers import case_action, pushes, the_case
from tests.transcript import LANGS, Chat, open_menu, person, t

LETTER = "食堂饭菜一个月涨了三次价，职工意见很大，希望领导过问一下"


def write(chat: Chat, lang: str, to: str, *, category: str | None = None,
          identity: str = "named") -> str:
    """Write a letter through the menu to the leader whose label starts with `to` (or to
    no leader in particular: `to` empty, with its category); return the answer."""
    open_menu(chat, lang)
    chat.press(t(lang, "menu.letter"))
    if to:
        chat.press_starting(to)
    else:
        chat.press(t(lang, "opt.letter_to.any"))
        chat.press(t(lang, f"opt.category.{category}"))
    chat.say(LETTER)
    chat.press(t(lang, f"opt.identity.{identity}"))
    chat.press(t(lang, "nav.confirm"))
    return chat.text


def opened(services: Services, lang: str, *keys: str) -> dict[str, Chat]:
    chats = {k: Chat(services, person=k) for k in keys}
    for chat in chats.values():
        open_menu(chat, lang)
    return chats


@pytest.mark.parametrize("lang", LANGS)
def test_a_letter_to_the_chairman_is_read_by_her_and_answered(services: Services,
                                                              lang: str) -> None:
    c = opened(services, lang, "li_ming", "chen_lihua", "liu_fang")
    said = write(c["li_ming"], lang, "陈丽华")
    case = the_case(services)
    assert t(lang, "letter.done", to="陈丽华", number="C-2026-0001",
             due_on=case.due_on.isoformat(), days=60) in said
    assert (case.letter, case.addressed_to, case.handler_id, case.description) == (
        True, person(services, "chen_lihua").id, person(services, "chen_lihua").id, LETTER)
    services.dispatcher.drain()
    [alert] = [p for p in pushes(services, "chen_lihua") if "C-2026-0001" in p]
    assert alert.startswith(t(lang, "notice.letter_to_you", number="C-2026-0001",
                              description=LETTER, complainant="李明",
                              due_on=case.due_on.isoformat()))
    # The staff register it, not who wrote it.
    assert t(lang, "notice.letter_staff", number="C-2026-0001", to="陈丽华",
             due_on=case.due_on.isoformat()) in pushes(services, "liu_fang")
    assert "李明" not in " ".join(p for p in pushes(services, "liu_fang") if "C-2026" in p)
    with Session(services.db) as s:  # her read of who wrote it is audited
        assert s.exec(select(IdentityRead).where(
            IdentityRead.reader_id == person(services, "chen_lihua").id)).first() is not None
    # The writer finds it by whom they wrote to.
    open_menu(c["li_ming"], lang)
    c["li_ming"].press(t(lang, "menu.my_cases"))
    assert t(lang, "case.letter_to", to="陈丽华") in c["li_ming"].text
    # Answered as a case: the writer is told.
    case_action(c["chen_lihua"], lang, "C-2026-0001", "reply", "下月起食堂价格由职代会审议")
    services.dispatcher.drain()
    assert any("下月起食堂价格由职代会审议" in p for p in pushes(services, "li_ming"))


@pytest.mark.parametrize("lang", LANGS)
def test_a_letter_to_a_leader_is_theirs_whatever_it_is_about(services: Services,
                                                             lang: str) -> None:
    """孙红梅 answers for no category of complaint: a letter written to her is still hers
    to read; one to no leader in particular goes by its category, wages to 赵国强."""
    c = opened(services, lang, "li_ming", "sun_hongmei", "zhao_guoqiang")
    write(c["li_ming"], lang, "孙红梅")
    assert the_case(services).handler_id == person(services, "sun_hongmei").id
    said = write(c["li_ming"], lang, "", category="wages")
    routed = the_case(services, "C-2026-0002")
    assert t(lang, "letter.done_any", number="C-2026-0002", due_on=routed.due_on.isoformat(),
             days=60) in said
    assert (routed.handler_id, routed.addressed_to, routed.category, routed.letter) == (
        person(services, "zhao_guoqiang").id, None, "wages", True)
    services.dispatcher.drain()
    [alert] = [p for p in pushes(services, "zhao_guoqiang") if "C-2026-0002" in p]
    assert alert.startswith(t(lang, "notice.letter_routed", number="C-2026-0002",
                              category=t(lang, "opt.category.wages"), description=LETTER,
                              complainant="李明", due_on=routed.due_on.isoformat()))


@pytest.mark.parametrize("lang", LANGS)
def test_an_anonymous_letter_keeps_a_receipt_code_and_names_nobody(services: Services,
                                                                   lang: str) -> None:
    c = opened(services, lang, "li_ming", "sun_hongmei")
    said = write(c["li_ming"], lang, "孙红梅", identity="anonymous")
    case = the_case(services)
    assert case.anonymous and case.complainant_id is None
    head = t(lang, "letter.done_anonymous", to="孙红梅", number="C-2026-0001",
             due_on=case.due_on.isoformat(), days=60, code="@").split("@")[0]
    assert head in said
    services.dispatcher.drain()
    [alert] = [p for p in pushes(services, "sun_hongmei") if "C-2026-0001" in p]
    assert "李明" not in alert


def test_the_letter_is_on_every_workers_menu_and_said_in_words(services: Services) -> None:
    li = Chat(services, person="li_ming")
    open_menu(li, "zh")
    assert t("zh", "menu.letter") in li.labels()
    li.say("我想给主席写信")
    assert t("zh", "letter.to.ask") in li.text
    with Session(services.db) as s:
        assert s.exec(select(Case)).all() == []


def test_the_registration_form_says_whom_the_letter_was_written_to(services: Services) -> None:
    from tests.calendar_helpers import rows, workbook

    write(Chat(services, person="li_ming"), "zh", "孙红梅")
    forms = workbook(services, "forms", case="C-2026-0001")
    registration = dict((r[0], r[1]) for r in rows(forms["登记单"])[1:])
    assert registration["来源"] == t("zh", "export.letter", channel=t("zh", "channel.console"),
                                    to="孙红梅")


def test_a_second_letter_is_no_repeat_petition(services: Services) -> None:
    """Two letters on two matters: each is a letter to its leader, 60 days, never a
    领导包案 "重复信访" (letters to named leaders were all filed as 其他)."""
    c = opened(services, "zh", "li_ming", "chen_lihua")
    write(c["li_ming"], "zh", "孙红梅")
    write(c["li_ming"], "zh", "陈丽华")
    second = the_case(services, "C-2026-0002")
    assert (second.leader_case, second.deadline_days) == (False, 60)
    services.dispatcher.drain()
    [alert] = [p for p in pushes(services, "chen_lihua") if "C-2026-0002" in p]
    assert alert.startswith("【来信】")


@pytest.mark.parametrize("lang", LANGS)
def test_a_letter_to_a_leader_away_says_so_to_the_writer_and_the_staff(
        services: Services, clock: FrozenClock, lang: str) -> None:
    from datetime import date

    from store.calendar_models import LeaderAway
    from store.db import transaction

    wu = person(services, "wu_jianjun")
    with transaction(services.db) as s:
        s.add(LeaderAway(unit_id=wu.unit_id or 0, person_id=wu.id or 0,
                         first_day=date(2026, 11, 20), last_day=date(2026, 12, 31),
                         kind="trip", created_at=clock.now()))
    c = opened(services, lang, "li_ming", "liu_fang")
    open_menu(c["li_ming"], lang)
    c["li_ming"].press(t(lang, "menu.letter"))
    assert any(t(lang, "case.away.trip") in label for label in c["li_ming"].labels())
    c["li_ming"].press(t(lang, "nav.cancel"))
    said = write(c["li_ming"], lang, "吴建军")
    case = the_case(services)
    away = t(lang, "assignee.away_words", away=t(lang, "case.away.trip"), until="2026-12-31")
    assert t(lang, "letter.done_away", to="吴建军", number="C-2026-0001", away=away,
             due_on=case.due_on.isoformat(), days=60) in said
    assert case.handler_id == wu.id  # still his to read
    services.dispatcher.drain()
    assert t(lang, "notice.letter_staff_away", number="C-2026-0001", to="吴建军",
             away=t(lang, "case.away.trip"), until="2026-12-31",
             due_on=case.due_on.isoformat()) in pushes(services, "liu_fang")


def test_an_anonymous_letter_looked_up_by_its_code_is_named_as_a_letter(
        services: Services) -> None:
    li = Chat(services, person="li_ming")
    said = write(li, "zh", "孙红梅", identity="anonymous")
    code = said.split(t("zh", "letter.done_anonymous", to="x", number="x", due_on="x",
                        days=0, code="@").split("@")[0][-8:])[-1].split("\n")[0].strip()
    open_menu(li, "zh")
    li.press(t("zh", "menu.receipt"))
    li.say(code)
    case = the_case(services)
    # Named as the writer knows it, not as 问题 C-2026-0001（写给孙红梅的信）.
    assert li.text.startswith(t("zh", "receipt.letter_found", what="您写给孙红梅的信",
                                number="C-2026-0001", status=t("zh", "status.assigned"),
                                handler="孙红梅", due_on=case.due_on.isoformat(),
                                updated="2026-11-23"))


@pytest.mark.parametrize("lang", LANGS)
def test_the_writers_list_and_rating_speak_of_letters(services: Services, lang: str) -> None:
    c = opened(services, lang, "li_ming")
    write(c["li_ming"], lang, "孙红梅")
    open_menu(c["li_ming"], lang)
    c["li_ming"].press(t(lang, "menu.my_cases"))
    assert c["li_ming"].text.startswith(t(lang, "query.my_cases.title_letters"))


def test_the_writer_hears_who_reads_a_letter_whose_leader_left(
        services: Services, clock: FrozenClock, tmp_path: object) -> None:
    """A letter to 赵国强; the org file is loaded without him: it is handed on, and 李明,
    who wrote to him by name, is told who reads it now."""
    from pathlib import Path

    from handlers import roster
    from store.db import transaction
    from tests.test_case_assignment import _without_zhao

    li = Chat(services, person="li_ming")
    write(li, "zh", "赵国强")
    with transaction(services.db) as s:
        roster.load_file(s, _without_zhao(Path(str(tmp_path))), now=clock.now(),
                         zone=services.settings.zone)
    services.dispatcher.drain()
    case = the_case(services)
    new = "陈丽华" if case.handler_id == person(services, "chen_lihua").id else "孙红梅"
    assert t("zh", "notice.letter_handed_on", number="C-2026-0001", old="赵国强",
             name=new) in pushes(services, "li_ming")


@pytest.mark.parametrize("lang", LANGS)
def test_a_letters_reminders_overdue_reply_and_rating_speak_of_the_letter(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """A letter to 孙红梅 is reminded, falls overdue, is answered and rated as a letter:
    its reader, the staff, the director and its writer read "写给孙红梅的信", never of a
    problem (问题) or a complaint (反映的问题)."""
    from datetime import timedelta

    from tests.case_helpers import at9, tick

    c = opened(services, lang, "li_ming", "sun_hongmei", "liu_fang", "chen_lihua")
    write(c["li_ming"], lang, "孙红梅")
    case = the_case(services)
    due = case.due_on.isoformat()
    what, yours = t(lang, "case.letter_to", to="孙红梅"), t(lang, "letter.yours_to", to="孙红梅")
    tick(services, clock, at9(case.due_on + timedelta(days=4)))
    sun = pushes(services, "sun_hongmei")
    for message, left in (("notice.letter_remind_week", 7), ("notice.letter_remind_day", 1)):
        assert t(lang, message, what=what, number="C-2026-0001", due_on=due,
                 days_left=left) in sun
    assert any(p.startswith(t(lang, "notice.letter_remind_half", what=what,
                              number="C-2026-0001", due_on=due, days_left=0)[:12])
               for p in sun)
    assert t(lang, "notice.letter_overdue", what=what, number="C-2026-0001", due_on=due,
             late=1) in sun
    # Not acknowledged: she is asked to, and the staff told, of a letter.
    assert any(p.startswith(t(lang, "notice.letter_ack_remind", what=what,
                              number="C-2026-0001", assigned_at="", days=2,
                              due_on=due)[:10]) for p in sun)
    head = t(lang, "notice.letter_escalated", what=what, number="C-2026-0001",
             handler="孙红梅", due_on=due, late=1, status=t(lang, "status.assigned"),
             events="").splitlines()[0]
    assert any(p.startswith(head) for p in pushes(services, "chen_lihua"))
    assert any(p.startswith(head) for p in pushes(services, "liu_fang"))
    assert any(p.startswith(t(lang, "notice.letter_unconfirmed", what=what,
                              number="C-2026-0001", assigned_at="", handler="孙红梅",
                              days=2, due_on=due, times=0)[:10])
               for p in pushes(services, "liu_fang"))
    # More time asked for once overdue: the director reads whose letter it is.
    case_action(c["sun_hongmei"], lang, "C-2026-0001", "extend", "10", "需要等职代会开会")
    services.dispatcher.drain()
    assert t(lang, "notice.letter_extension_asked_late", handler="孙红梅", days=10,
             what=what, number="C-2026-0001", reason="需要等职代会开会", due_on=due,
             late=4) in pushes(services, "chen_lihua")
    # Answered: the writer reads of the letter they wrote, with the button to rate it.
    case_action(c["sun_hongmei"], lang, "C-2026-0001", "reply", "下月起食堂价格由职代会审议")
    services.dispatcher.drain()
    assert t(lang, "notice.letter_replied", what=yours, number="C-2026-0001",
             reply="下月起食堂价格由职代会审议") in pushes(services, "li_ming")
    # Not satisfied: it goes up to the director, and everyone reads of a letter.
    li = c["li_ming"]
    open_menu(li, lang)
    li.press(t(lang, "menu.rate"))
    li.press_starting("C-2026-0001")
    li.press(t(lang, "opt.rating.unsatisfied"))
    reopened = the_case(services)
    assert t(lang, "rate.letter_reopened", what=yours, number="C-2026-0001",
             due_on=reopened.due_on.isoformat()) in li.text
    services.dispatcher.drain()
    assert t(lang, "notice.letter_reopened_old", what=what, number="C-2026-0001",
             due_on=reopened.due_on.isoformat()) in pushes(services, "sun_hongmei")
    assert any(p.startswith(t(lang, "notice.letter_reopened", what=what,
                              number="C-2026-0001", due_on=reopened.due_on.isoformat(),
                              reply="", events="").splitlines()[0])
               for p in pushes(services, "chen_lihua"))
    # The director answers and closes it: the writer hears it closed, and may rate it.
    case_action(c["chen_lihua"], lang, "C-2026-0001", "reply", "已请职代会专题审议食堂价格")
    case_action(c["chen_lihua"], lang, "C-2026-0001", "close", "职代会已审议，价格回调")
    services.dispatcher.drain()
    closed = [p for p in pushes(services, "li_ming")
              if p.startswith(t(lang, "notice.letter_closed_rate", what=yours,
                                number="C-2026-0001", outcome="职代会已审议，价格回调",
                                days=0, until="").splitlines()[0])]
    assert len(closed) == 1
    assert "孙红梅" in closed[0]
    # Nobody read of a problem or a complaint about it.
    problem = "问题 C-2026-0001" if lang == "zh" else "Case C-2026-0001"
    for key in ("li_ming", "sun_hongmei", "liu_fang", "chen_lihua"):
        assert not [p for p in pushes(services, key) if problem in p
                    or "反映的问题 C-2026-0001" in p or "Your case C-2026-0001" in p], key


@pytest.mark.parametrize("lang", LANGS)
def test_a_letter_passed_on_or_rated_too_early_is_spoken_of_as_a_letter(
        services: Services, lang: str) -> None:
    """A letter to 孙红梅 passed on (转办) to 赵国强, then filed under another category by
    the staff: 赵国强 gets a letter to read, 孙红梅 is told it is off her hands, both of a
    letter; its anonymous writer, rating by code before any answer, reads of their letter."""
    from tests.test_case_rules import CODE

    c = opened(services, lang, "sun_hongmei", "zhao_guoqiang", "liu_fang")
    visitor = Chat(services, channel="web", address="anon-letter")
    said = write(visitor, lang, "孙红梅", identity="anonymous")
    code = CODE.search(said)
    assert code is not None
    what = t(lang, "case.letter_to", to="孙红梅")
    due = the_case(services).due_on.isoformat()
    zhao = "[赵国强（总经理）]" if lang == "zh" else "[赵国强 (总经理)]"
    case_action(c["sun_hongmei"], lang, "C-2026-0001", "reassign", zhao, "请赵总阅处")
    services.dispatcher.drain()
    assert any(p.startswith(t(lang, "notice.letter_passed", number="C-2026-0001", what=what,
                              by="孙红梅", reason="请赵总阅处", description=LETTER,
                              complainant="", due_on=due).splitlines()[0])
               for p in pushes(services, "zhao_guoqiang"))
    case_action(c["liu_fang"], lang, "C-2026-0001", "reclassify",
                f"[{t(lang, 'opt.category.living')}]", "食堂价格属生活福利")
    services.dispatcher.drain()
    assert t(lang, "notice.letter_reclassified", number="C-2026-0001", what=what,
             by="刘芳", old_category=t(lang, "opt.category.other"),
             category=t(lang, "opt.category.living"),
             reason="食堂价格属生活福利") in pushes(services, "zhao_guoqiang")
    assert not any("C-2026-0001" in p and (p.startswith("问题") or p.startswith("Case"))
                   for who in ("sun_hongmei", "zhao_guoqiang")
                   for p in pushes(services, who))
    open_menu(visitor, lang)
    visitor.press(t(lang, "menu.rate"))
    visitor.press(t(lang, "opt.rate_case.code"))
    visitor.say(code[0])
    assert t(lang, "rate.letter_not_yet", what=t(lang, "letter.yours_to", to="孙红梅"),
             number="C-2026-0001") in visitor.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_letter_to_the_chairman_left_unread_is_reminded_as_hers(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """A letter to 陈丽华, the director, left unacknowledged: she is not told that "the
    director" will know once she acknowledges it; the staff are asked to remind her, not
    offered to pass a letter written to her by name to someone else; its history reads
    that it was hers to read and that the staff were told, not "by category: other"."""
    from datetime import date

    from tests.case_helpers import at9, tick

    c = opened(services, lang, "li_ming", "chen_lihua", "liu_fang")
    write(c["li_ming"], lang, "陈丽华")
    case = the_case(services)
    tick(services, clock, at9(date(2026, 11, 26)))
    what = t(lang, "case.letter_to", to="陈丽华")
    facts = {"what": what, "number": "C-2026-0001", "due_on": case.due_on.isoformat()}
    assigned = {**facts, "assigned_at": "2026-11-23 09:00", "days": 1}
    mine = [m.text for m in c["chen_lihua"].inbox()]
    assert t(lang, "notice.letter_ack_remind_director", **assigned) + "\n" \
        + t(lang, "nav.ack_prompt") in mine
    assert not any(m.startswith(t(lang, "notice.letter_ack_remind", **assigned)) for m in mine)
    [staff, *_] = [m for m in c["liu_fang"].inbox() if m.text.startswith(
        t(lang, "notice.letter_unconfirmed_own", **assigned, handler="陈丽华", times=3)[:6])]
    assert staff.text == t(lang, "notice.letter_unconfirmed_own", **assigned,
                           handler="陈丽华", times=3)
    assert staff.buttons == []
    with Session(services.db) as s:
        kinds = [(e.kind, e.note) for e in s.exec(select(CaseEvent).where(
            CaseEvent.case_id == case.id).order_by(col(CaseEvent.id)))]
    assert kinds[:2] == [("registered", ""), ("letter_to", "陈丽华")]
    assert ("unconfirmed_staff", "陈丽华") in kinds


def test_one_more_day_on_a_letter_reads_as_one_day_in_english(services: Services) -> None:
    c = opened(services, "en", "li_ming", "sun_hongmei", "chen_lihua")
    write(c["li_ming"], "en", "孙红梅")
    due = the_case(services).due_on.isoformat()
    case_action(c["sun_hongmei"], "en", "C-2026-0001", "extend", "1", "需要等职代会开会")
    services.dispatcher.drain()
    assert f"[EXTENSION] 孙红梅 asks for 1 more day on the letter to 孙红梅, C-2026-0001 " \
        f"(due {due}): 需要等职代会开会" in pushes(services, "chen_lihua")
