"""The welcome of the roles and people the role's own words did not fit: the upper
union's contact, a leader with no reception days of their own, the staff and such a
leader when no emergency is alerted to them, and a liaison of a section (科室)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import Session, col, delete, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from conversations.engine import Context, Engine, State
from store.calendar_models import RosterPlan
from store.models import ChainStep, Contact, DutyEntry, Person, Workshop
from tests.test_flow_common import LEADER_MENU, LIAISON_MENU, STAFF_MENU, chat_text_is, menu_labels
from tests.transcript import LANGS, Chat, open_menu, person, t

pytestmark = pytest.mark.usefixtures("published_roster")

UPPER_UNION_MENU = ["suggestion", "complaint", "booking", "emergency", "my_cases",
                    "my_bookings", "receipt", "rate", "lang", "cal_work_log"]
NO_SWAP_MENU = [x for x in LEADER_MENU if x != "cal_duty_swap"]


@pytest.mark.parametrize("lang", LANGS)
def test_the_upper_union_is_welcomed_with_the_reports_it_receives(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Before, the upper union's contact (钱文静) was welcomed as a worker: "您可以提建议、
    反映问题、写信给领导、预约领导接访", with no letter to a leader in her menu and not a
    word of the reports sent to her. Now she reads that the workroom's reports to the
    upper union come to her, to acknowledge an alert, and her work log."""
    qian = Chat(services, person="qian_wenjing")
    open_menu(qian, lang)
    for said in ("/start", "你好", "/menu"):
        clock.advance(timedelta(minutes=1))
        qian.say(said)
        assert chat_text_is(qian, t(lang, "menu.welcome_upper_union")), said
        assert qian.labels() == menu_labels(lang, UPPER_UNION_MENU)
    words = {"zh": ("上级工会的联系人", "首报", "舆情月报", "工作周通报", "信息报告",
                    "点“收到”", "工作日志"),
             "en": ("upper union's contact", "first report", "monthly opinion report",
                    "weekly report", "information reports", 'tap "Acknowledge"',
                    "work log")}[lang]
    for word in words:
        assert word in qian.text, word
    assert t(lang, "menu.letter") not in qian.labels()
    assert ("写信给领导" if lang == "zh" else "write to a leader") not in qian.text


@pytest.fixture
def union_leader(services: Services) -> Chat:
    """林慧, the union's vice-chairman: a leader who receives any day (工会领导随时接访),
    not on the daily rotation, given no day of her own, and not in the alert chain."""
    zhao = person(services, "zhao_guoqiang")
    with Session(services.db) as s:
        lin = Person(key="lin_hui", name="林慧", role="leader", post="工会副主席",
                     unit_id=zhao.unit_id, created_at=services.clock.now())
        s.add(lin)
        s.flush()
        assert lin.id is not None
        s.add(Contact(person_id=lin.id, channel="console", address="p:lin_hui"))
        plan = s.exec(select(RosterPlan)).one()
        plan.union_leaders = [*plan.union_leaders, lin.id]
        s.add(plan)
        s.commit()
    return Chat(services, person="lin_hui")


def into_chain(services: Services, key: str, position: int = 2) -> None:
    """Name the person in a step of the emergency alert chain."""
    who = person(services, key)
    with Session(services.db) as s:
        s.add(ChainStep(unit_id=who.unit_id or 0, position=position, person_id=who.id or 0,
                        wait_minutes=10))
        s.commit()


@pytest.mark.parametrize("lang", LANGS)
def test_a_leader_with_no_reception_days_is_not_told_to_swap_them(
        services: Services, union_leader: Chat, lang: str) -> None:
    """Before, a union leader off the rotation read "查看和调换您的接访值班日" and was
    offered 调换接访日, which found no day of hers to swap. Now the welcome leaves the
    swap out and so does the menu (one test for both); the rest of a leader's welcome
    and menu stay: in the alert chain, she is told emergencies come to her."""
    into_chain(services, "lin_hui")
    lin = union_leader
    open_menu(lin, lang)
    lin.say("/start")
    assert chat_text_is(lin, t(lang, "menu.welcome_leader_no_duty"))
    assert ("调换" if lang == "zh" else "swap") not in lin.text
    assert ("紧急情况" if lang == "zh" else "Emergencies") in lin.text
    assert ("接访台帐" if lang == "zh" else "visit ledger") in lin.text
    assert lin.labels() == menu_labels(lang, NO_SWAP_MENU)
    assert t(lang, "menu.cal_duty_swap") not in lin.labels()
    # A leader on the rotation still reads it, and has the item.
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, lang)
    zhao.say("/start")
    assert chat_text_is(zhao, t(lang, "menu.welcome_leader"))
    assert ("调换您的接访值班日" if lang == "zh" else "swap your reception-duty days") \
        in zhao.text
    assert zhao.labels() == menu_labels(lang, LEADER_MENU)


@pytest.mark.parametrize("lang", LANGS)
def test_a_leader_alerted_of_no_emergency_is_not_told_emergencies_come_to_her(
        services: Services, union_leader: Chat, lang: str) -> None:
    """The union leader with no day of her own and in no step of the alert chain is never
    alerted of an emergency (the director, the chain and the day's duty leader are).
    Before, her welcome began "职工报告的紧急情况……会推送给您"; now it names what does
    come to her: letters written to her and the cases given to her."""
    lin = union_leader
    open_menu(lin, lang)
    lin.say("/start")
    assert chat_text_is(lin, t(lang, "menu.welcome_leader_no_duty_no_chain"))
    for untrue in {"zh": ("紧急情况", "调换"), "en": ("Emergencies", "emergenc", "swap")}[lang]:
        assert untrue not in lin.text, untrue
    told = {"zh": ("写给您的信", "交给您办理的问题", "点“收到”", "接访台帐"),
            "en": ("Letters written to you", "cases given to you", 'tap "Acknowledge"',
                   "visit ledger")}[lang]
    for word in told:
        assert word in lin.text, word
    assert lin.labels() == menu_labels(lang, NO_SWAP_MENU)


@pytest.mark.parametrize("lang", LANGS)
def test_staff_alerted_of_no_emergency_are_not_told_emergencies_come_to_them(
        services: Services, lang: str) -> None:
    """刘芳 taken out of the alert chain is never alerted of an emergency; before, her
    welcome still said "紧急情况会推送给您". Now it says the cases given to her come as
    alerts; in the chain again, she reads the staff's welcome as before."""
    liu = person(services, "liu_fang")
    with Session(services.db) as s:
        s.exec(delete(ChainStep).where(col(ChainStep.person_id) == liu.id))
        s.commit()
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    staff.say("/start")
    assert chat_text_is(staff, t(lang, "menu.welcome_staff_no_chain"))
    assert ("紧急情况" if lang == "zh" else "emergenc") not in staff.text
    assert ("交给您办理的问题" if lang == "zh" else "cases given to you") in staff.text
    assert staff.labels() == menu_labels(lang, STAFF_MENU)
    into_chain(services, "liu_fang")
    staff.say("/start")
    assert chat_text_is(staff, t(lang, "menu.welcome_staff"))


def test_a_leader_given_a_reception_day_is_told_to_swap_it(
        services: Services, clock: FrozenClock, union_leader: Chat) -> None:
    """The same union leader, once given a reception of her own (a day set in the
    organisation file), has a day to swap: the welcome says so, the menu offers it, and
    it offers that day. A visit to the site is no such day: it goes with its case."""
    lin = union_leader
    lin_id = person(services, "lin_hui").id
    assert lin_id is not None
    today = clock.now().date()

    def give(day: date, form: str) -> None:
        with Session(services.db) as s:
            s.add(DutyEntry(unit_id=person(services, "lin_hui").unit_id or 0, day=day,
                            start=time(14), end=time(16), place="工会办公室",
                            leader_id=lin_id, post="工会副主席", form=form))
            s.commit()

    give(today + timedelta(days=3), "onsite")
    lin.say("/start")
    assert chat_text_is(lin, t("zh", "menu.welcome_leader_no_duty_no_chain"))
    give(today + timedelta(days=4), "fixed")
    clock.advance(timedelta(minutes=1))
    lin.say("/start")
    assert chat_text_is(lin, t("zh", "menu.welcome_leader"))
    assert lin.labels() == menu_labels("zh", LEADER_MENU)
    lin.press(t("zh", "menu.cal_duty_swap"))
    assert t("zh", "duty_swap.mine.ask") in lin.text
    assert t("zh", "duty_swap.empty") not in lin.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_liaison_of_a_section_is_welcomed_as_its_liaison(
        services: Services, lang: str) -> None:
    """A liaison serves a workshop or a section (科室). Before, the liaison of 综合办公室
    read "您是本车间的群众工作联络员：车间里出了突发情况……会记在本车间名下"; now the
    welcome names what she serves, as a workshop's liaison's names the workshop."""
    office = person(services, "tang_yun")  # 综合办公室's employee becomes its liaison
    with Session(services.db) as s:
        row = s.get(Person, office.id)
        assert row is not None
        row.role = "liaison"
        s.add(row)
        s.commit()
        shop = s.get(Workshop, row.workshop_id)
        assert shop is not None and (shop.name, shop.kind) == ("综合办公室", "section")
    tang = Chat(services, person="tang_yun")
    open_menu(tang, lang)
    tang.say("/start")
    assert chat_text_is(tang, t(lang, "menu.welcome_liaison_untold", workshop="综合办公室"))
    said = {"zh": ("您是综合办公室的群众工作联络员：综合办公室出了突发情况",
                   "会记在综合办公室名下"),
            "en": ("You are the liaison of 综合办公室", "recorded under 综合办公室")}[lang]
    for words in said:
        assert words in tang.text, words
    assert ("本车间的" if lang == "zh" else "your workshop's") not in tang.text
    assert tang.labels() == menu_labels(lang, LIAISON_MENU)
    wang = Chat(services, person="wang_qiang")  # a workshop's liaison: its name
    open_menu(wang, lang)
    wang.say("/start")
    assert ("您是铸造车间的群众工作联络员" if lang == "zh"
            else "You are the liaison of 铸造车间") in wang.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_liaison_serving_no_workshop_reads_the_workers_welcome(lang: str) -> None:
    """The organisation file gives every liaison a workshop or section; one without
    (a row changed by hand) is not told of "本车间" nor of a workshop with no name: the
    workers' welcome, which is true of them."""
    ctx = Context(now=datetime(2026, 11, 23, 9, tzinfo=UTC), role="liaison")
    out = Engine().step(State(lang=lang).to_dict(), text="/start", action=None, ctx=ctx)
    assert out.replies[0].text == t(lang, "menu.welcome")
