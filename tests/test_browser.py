"""The chat page in a real browser: Chromium on a phone-sized screen, against the real app
served by uvicorn on a free local port."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    Locator,
    Page,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)
from sqlmodel import Session, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from store.models import Case
from tests.conftest import make_services
from web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE: ViewportSize = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
]


@dataclass
class LiveApp:
    url: str
    services: Services


@pytest.fixture
def live_app(sqlite_url: str, clock: FrozenClock) -> Iterator[LiveApp]:
    """The real app on 127.0.0.1 and a free port, in a background thread."""
    yield from _serve(make_services(sqlite_url, clock))


@pytest.fixture
def db_live_app(db_url: str, clock: FrozenClock) -> Iterator[LiveApp]:
    """The real app, on SQLite and on PostgreSQL."""
    yield from _serve(make_services(db_url, clock))


def _serve(services: Services) -> Iterator[LiveApp]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(services, run_scheduler=False), log_level="warning",
                            lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)  # uvicorn has no "started" event to wait on
        assert server.started, "uvicorn did not start"
        yield LiveApp(f"http://127.0.0.1:{port}", services)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
        services.db.dispose()
    assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync",
                  "--disable-quic"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, live_app: LiveApp) -> Iterator[Page]:
    # zh-CN: the server takes an English Accept-Language as a hint for a new visitor.
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    yield page
    context.close()
    assert errors == [], errors


def last_bot(page: Page) -> Locator:
    return page.get_by_test_id("bot-msg").last


def idle(page: Page) -> None:
    """Wait until no message is in flight: the page enables its input again."""
    expect(page.get_by_test_id("input")).to_be_enabled()


def tap(page: Page, label: str) -> None:
    """Tap the button `label` under the latest bot message."""
    idle(page)
    button = last_bot(page).get_by_test_id("btn").filter(has_text=re.compile(
        rf"^\s*{re.escape(label)}\s*$"))
    expect(button).to_be_enabled()
    button.tap()
    expect(page.get_by_test_id("user-msg").last).to_have_text(re.compile(re.escape(label)))
    idle(page)


def type_answer(page: Page, text: str) -> None:
    idle(page)
    box = page.get_by_test_id("input")
    box.fill(text)
    box.press("Enter")
    expect(page.get_by_test_id("user-msg").last).to_have_text(re.compile(re.escape(text)))
    idle(page)


def test_complaint_through_the_page(page: Page, live_app: LiveApp) -> None:
    page.goto(live_app.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    # The page asks for the menu by itself, without a user bubble.
    expect(last_bot(page)).to_contain_text("职工群众工作室")
    expect(page.get_by_test_id("user-msg")).to_have_count(0)
    menu_buttons = last_bot(page).get_by_test_id("btn")
    expect(menu_buttons.first).to_be_visible()
    box = menu_buttons.first.bounding_box()
    assert box is not None and box["height"] >= 44

    tap(page, "反映问题")
    menu_button = page.get_by_test_id("bot-msg").nth(0).get_by_test_id("btn").first
    expect(menu_button).to_be_disabled()  # the stale menu cannot be tapped any more
    tap(page, "工资福利")
    type_answer(page, "十月份的加班费到现在还没有发，车间里二十多人都没拿到。")
    type_answer(page, "2026-10")
    type_answer(page, "25")
    expect(last_bot(page).get_by_test_id("btn").filter(has_text="跳过")).to_have_class(
        re.compile(r"\bnav\b"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-step.png"))
    tap(page, "跳过")
    tap(page, "铸造车间")
    type_answer(page, "补发十月加班费，以后按时发放")
    tap(page, "实名")
    expect(last_bot(page)).to_contain_text("请核对")
    page.screenshot(path=str(ARTIFACTS / "chat-review.png"))
    tap(page, "确认提交")

    done = page.get_by_test_id("bot-msg").filter(has_text=re.compile(r"C-2026-\d{4}"))
    expect(done).to_have_count(1)
    number = re.search(r"C-2026-\d{4}", done.inner_text())
    assert number is not None
    expect(done).to_contain_text("领导包案")
    with Session(live_app.services.db) as s:
        case = s.exec(select(Case).where(Case.number == number.group(0))).one()
    assert case.leader_case and case.affected == 25 and case.channel == "web"

    # The menu follows, and the typed multi-line review kept its line breaks.
    expect(last_bot(page).get_by_test_id("btn").first).to_be_enabled()
    review = page.get_by_test_id("bot-msg").filter(has_text="请核对").last
    assert review.evaluate("el => getComputedStyle(el.querySelector('.bubble')).whiteSpace") \
        == "pre-wrap"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"))


def test_receipt_code_is_still_there_after_a_reload(page: Page, live_app: LiveApp) -> None:
    """An anonymous worker's receipt code is shown once; the phone reloads the page when
    he comes back to it from another app: the code is still there. It is kept in this
    browser for this session only: not on the server, not for the next person who signs
    in on the same browser."""
    from bot import invites
    from store.models import InboundMessage, InboxMessage

    page.goto(live_app.url + "/")
    expect(last_bot(page)).to_contain_text("职工群众工作室")
    tap(page, "反映问题")
    tap(page, "工资福利")
    type_answer(page, "十月份的加班费到现在还没有发，班组里好几个人都没拿到。")
    type_answer(page, "2026-10")
    type_answer(page, "6")
    tap(page, "跳过")
    tap(page, "铸造车间")
    type_answer(page, "补发十月加班费")
    tap(page, "匿名")
    tap(page, "确认提交")
    done = page.get_by_test_id("bot-msg").filter(has_text="您的回执码是")
    expect(done).to_have_count(1)
    found = re.search(r"回执码是：(\S+)", done.inner_text())
    assert found is not None
    code = found.group(1)

    page.reload()
    idle(page)
    expect(page.get_by_test_id("bot-msg").filter(has_text=code)).to_have_count(1)
    expect(page.get_by_test_id("user-msg").filter(has_text="补发十月加班费")).to_have_count(1)
    # The menu the page asks for leads; the buttons of what came before are history.
    expect(last_bot(page)).to_contain_text("职工群众工作室")
    expect(last_bot(page).get_by_test_id("btn").first).to_be_enabled()
    submitted = page.get_by_test_id("bot-msg").filter(has_text="请核对").get_by_test_id(
        "btn").filter(has_text="确认提交")
    expect(submitted).to_be_disabled()
    expect(submitted).to_have_class(re.compile(r"\bpressed\b"))
    with Session(live_app.services.db) as s:  # the server keeps only its hash
        kept = [str(r.replies) for r in s.exec(select(InboundMessage))] \
            + [r.text for r in s.exec(select(InboxMessage))]
    assert not [k for k in kept if code in k]

    # Another person signs in on this browser: the code is neither shown nor kept.
    token = invites.make_token(live_app.services.settings.secret_key, "li_ming")
    page.goto(f"{live_app.url}/i/{token}")
    expect(last_bot(page)).to_contain_text("职工群众工作室")
    idle(page)
    expect(page.get_by_test_id("messages")).not_to_contain_text(code)
    assert code not in page.evaluate("JSON.stringify(window.localStorage)")


def test_the_menus_buttons_show_the_numbers_a_reply_picks_them_by(page: Page,
                                                                     live_app: LiveApp) -> None:
    """The menu says "点按钮": its buttons, and a question's options, show their numbers
    too (not part of what the button sends); typing one picks it, as on WeChat."""

    def number(button: Locator) -> str:
        return str(button.evaluate("b => getComputedStyle(b, '::before').content"))

    page.goto(live_app.url + "/")
    expect(last_bot(page)).to_contain_text("点按钮")
    menu = last_bot(page).get_by_test_id("btn")
    labels = menu.all_inner_texts()
    assert [number(menu.nth(i)) for i in range(len(labels))] == \
        [f'"{i}"' for i in range(1, len(labels) + 1)]
    assert labels[1] == "反映问题"  # the label alone, as the button's words
    type_answer(page, "2")
    expect(last_bot(page)).to_contain_text("（1/8）")
    question = last_bot(page).get_by_test_id("btn")
    expect(question.filter(has_text="工资福利")).to_be_visible()
    assert number(question.filter(has_text="工资福利")) == '"1"'
    assert number(question.filter(has_text="安全生产")) == '"2"'
    assert number(question.filter(has_text="取消")) in ("none", "normal")  # a nav: no number
    tap(page, "安全生产")  # a tap sends the label, not the number
    expect(page.get_by_test_id("user-msg").last).to_have_text("安全生产")
    expect(last_bot(page)).to_contain_text("（2/8）")


def test_switch_to_english(page: Page, live_app: LiveApp) -> None:
    page.goto(live_app.url + "/")
    expect(last_bot(page)).to_contain_text("职工群众工作室")
    expect(page.get_by_test_id("input")).to_have_attribute("placeholder", re.compile("输入"))
    tap(page, "English")
    expect(last_bot(page)).to_contain_text("What would you like to do?")
    labels = last_bot(page).get_by_test_id("btn")
    expect(labels.filter(has_text="Make a suggestion")).to_have_count(1)
    expect(labels.filter(has_text="中文")).to_have_count(1)
    # The page's own words follow the language.
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("send")).to_have_text("Send")
    expect(page.get_by_test_id("input")).to_have_attribute("placeholder", re.compile("Type"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-en.png"))


def test_the_page_shows_no_chinese_only_words_before_it_knows_the_language(
        browser: Browser, live_app: LiveApp) -> None:
    """An English reader's page showed 职工群众工作室 and 发送 until /api/me answered (on a
    slow phone network, seconds). Until then the title, the send button and the input's
    hint are in both languages (never an unlabelled button); then the page takes the
    reader's language."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                  locale="en-US", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/api/me", hold)
    try:
        page.goto(live_app.url + "/")
        expect(page.get_by_test_id("title")).to_have_text("职工群众工作室 · Workers’ Workroom")
        assert page.title() == "职工群众工作室 · Workers’ Workroom"
        both = "输入文字 · Type a message"
        expect(page.get_by_test_id("send")).to_have_text("发送 · Send")
        assert page.get_by_test_id("input").get_attribute("placeholder") == both
        page.wait_for_timeout(300)  # the script has run; still nothing in one language
        assert len(held) == 1
        expect(page.get_by_test_id("send")).to_have_text("发送 · Send")
        assert page.get_by_test_id("input").get_attribute("placeholder") == both
        expect(page.get_by_test_id("title")).to_have_text("职工群众工作室 · Workers’ Workroom")
        held[0].continue_()
        page.unroute("**/api/me")
        expect(page.get_by_test_id("send")).to_have_text("Send")
        assert page.get_by_test_id("input").get_attribute("placeholder") == "Type a message…"
        expect(page.get_by_test_id("title")).to_have_text("Workers’ Workroom")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(last_bot(page)).to_contain_text("Make a suggestion")
    finally:
        context.close()


def test_pushes_show_as_notices_with_a_live_ack_button(page: Page, live_app: LiveApp) -> None:
    """A director opens an invite link; an emergency alert arrives in the inbox."""
    from bot import invites
    from tests.transcript import Chat

    services = live_app.services
    token = invites.make_token(services.settings.secret_key, "chen_lihua")
    page.goto(f"{live_app.url}/i/{token}")
    expect(last_bot(page)).to_contain_text("职工群众工作室")
    idle(page)

    reporter = Chat(services, person="li_ming")
    reporter.dialog([("菜单", "职工群众工作室"), ("[紧急情况报告]", "发生了什么"),
                     ("车间起火冒烟", "在哪里"), ("铸造车间", "立即发送"),
                     ("[立即发送]", "已报告")])
    services.dispatcher.drain()

    notice = page.get_by_test_id("notice-msg").filter(has_text="【紧急】")
    expect(notice).to_have_count(1)  # polled within a few seconds
    ack = notice.get_by_test_id("btn")
    expect(ack).to_have_text("收到")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-notice.png"))
    # A newer bot message does not disable the alert's button.
    tap(page, "提建议")
    expect(ack).to_be_enabled()
    ack.tap()
    # Inside a flow the acknowledgement comes first, then the question again.
    expect(page.get_by_test_id("bot-msg").filter(has_text="已确认收到")).to_have_count(1)
    expect(ack).to_be_disabled()
    expect(last_bot(page)).to_contain_text("（1/3）")
    # A reload shows the conversation again, the notice once (not again as new), its
    # button as pressed.
    page.reload()
    expect(page.get_by_test_id("bot-msg").filter(has_text="您正在填写")).to_have_count(1)
    expect(last_bot(page)).to_contain_text("（1/3）")
    expect(page.get_by_test_id("messages")).to_have_attribute("data-inbox-polls",
                                                              re.compile(r"^[1-9]"))
    expect(page.get_by_test_id("notice-msg")).to_have_count(1)
    expect(notice.get_by_test_id("btn").filter(has_text="收到")).not_to_be_enabled()


def test_an_acknowledgement_shows_on_every_open_page(page: Page, browser: Browser,
                                                     live_app: LiveApp) -> None:
    """The director and a leader both have the alert open; the director presses 收到: her
    own alert and the leader's open page say so (the alert edited in place), and so does
    the leader's page after a reload."""
    from bot import invites
    from tests.transcript import Chat

    services = live_app.services
    secret = services.settings.secret_key
    page.goto(f"{live_app.url}/i/{invites.make_token(secret, 'chen_lihua')}")
    expect(last_bot(page)).to_contain_text("职工群众工作室")
    other = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                locale="zh-CN", timezone_id="Asia/Shanghai")
    other.set_default_timeout(15_000)
    leader = other.new_page()
    leader.goto(f"{live_app.url}/i/{invites.make_token(secret, 'sun_hongmei')}")
    expect(last_bot(leader)).to_contain_text("职工群众工作室")
    idle(page)
    idle(leader)

    Chat(services, person="li_ming").dialog([
        ("菜单", "职工群众工作室"), ("[紧急情况报告]", "发生了什么"), ("车间起火冒烟", "在哪里"),
        ("铸造车间", "立即发送"), ("[立即发送]", "已报告")])
    services.dispatcher.drain()
    mine = page.get_by_test_id("notice-msg").filter(has_text="【紧急】")
    theirs = leader.get_by_test_id("notice-msg").filter(has_text="【紧急】")
    expect(mine.get_by_test_id("btn").filter(has_text="收到")).to_be_enabled()
    expect(theirs.get_by_test_id("btn").filter(has_text="收到")).to_be_enabled()

    mine.get_by_test_id("btn").filter(has_text="收到").tap()
    expect(page.get_by_test_id("bot-msg").filter(has_text="已确认收到")).to_have_count(1)
    services.dispatcher.drain()  # the edits of the alert where it was shown
    expect(mine).to_contain_text("✅ 陈丽华 已于")
    expect(mine.get_by_test_id("btn")).to_have_count(0)
    expect(theirs).to_contain_text(re.compile(r"✅ 陈丽华 已于 .+ 确认收到，正在处理"))
    expect(theirs).to_have_count(1)  # in its place, not a second notice
    leader.reload()
    expect(leader.get_by_test_id("messages")).to_have_attribute("data-inbox-polls",
                                                                re.compile(r"^[1-9]"))
    expect(theirs).to_contain_text("✅ 陈丽华 已于")
    expect(theirs).to_have_count(1)
    other.close()


def test_a_push_leaves_the_question_being_answered_alone(page: Page,
                                                          live_app: LiveApp) -> None:
    """A leader is half-way through a form when an employee books a visit with him: the
    booking's push (with its own button) comes in, and the question's buttons stay live."""
    from bot import invites
    from store.models import Person
    from tests.calendar_helpers import publish_roster
    from tests.test_flow_booking import book, upcoming
    from tests.transcript import Chat

    services = live_app.services
    publish_roster(services)  # only published receptions can be booked
    entry = upcoming(services)[0]
    with Session(services.db) as s:
        leader = s.get(Person, entry.leader_id)
    assert leader is not None
    page.goto(f"{live_app.url}/i/{invites.make_token(services.settings.secret_key, leader.key)}")
    expect(last_bot(page)).to_contain_text("职工群众工作室")
    tap(page, "提建议")
    question = last_bot(page)
    expect(question).to_contain_text("（1/3）")

    book(services, Chat(services, person="li_ming"), "zh", entry)
    services.dispatcher.drain()
    notice = page.get_by_test_id("notice-msg").filter(has_text="V-2026-0001")
    expect(notice).to_have_count(1)
    expect(notice.get_by_test_id("btn").first).to_be_enabled()  # the push's own button
    for label in ("企业管理", "返回", "取消"):
        expect(question.get_by_test_id("btn").filter(has_text=label)).to_be_visible()
        expect(question.get_by_test_id("btn").filter(has_text=label)).to_be_enabled()
    question.get_by_test_id("btn").filter(has_text="企业管理").tap()
    expect(last_bot(page)).to_contain_text("（2/3）")


def test_a_new_phone_shows_the_alert_still_waiting_for_its_ack(
        page: Page, browser: Browser, live_app: LiveApp) -> None:
    """An emergency alert waits for the director's 收到; six routine pushes follow. She
    opens her link on a new phone: only the latest pushes are shown, but the alert is, with
    its live button, nearest to where she reads."""
    from bot import invites
    from store import outbox
    from store.db import transaction
    from store.models import Person
    from tests.transcript import Chat

    services = live_app.services
    link = f"{live_app.url}/i/{invites.make_token(services.settings.secret_key, 'chen_lihua')}"
    page.goto(link)  # her first phone: the web chat is where her pushes go
    expect(last_bot(page)).to_contain_text("职工群众工作室")
    idle(page)
    page.context.close()

    Chat(services, person="li_ming").dialog([
        ("菜单", "职工群众工作室"), ("[紧急情况报告]", "发生了什么"),
        ("配电房有人触电倒地", "在哪里"), ("配电房", "立即发送"), ("[立即发送]", "已报告")])
    with transaction(services.db) as s:
        director = s.exec(select(Person).where(Person.key == "chen_lihua")).one()
        for n in range(6):
            outbox.enqueue(s, key=f"routine:{n}", recipient_id=director.id,
                           message="notice.raw", params={"text": f"例行通知 {n + 1}"},
                           now=services.clock.now())
    services.dispatcher.drain()

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                locale="zh-CN", timezone_id="Asia/Shanghai")
    phone.set_default_timeout(15_000)
    fresh = phone.new_page()
    fresh.goto(link)
    expect(fresh.get_by_test_id("messages")).to_have_attribute("data-inbox-polls",
                                                               re.compile(r"^[1-9]"))
    notices = fresh.get_by_test_id("notice-msg")
    expect(notices.filter(has_text="例行通知 6")).to_have_count(1)
    expect(notices.filter(has_text="例行通知 1")).to_have_count(0)  # only the latest
    alert = notices.filter(has_text="配电房有人触电倒地")
    expect(alert).to_have_count(1)
    expect(notices.last).to_contain_text("配电房有人触电倒地")
    expect(alert.get_by_test_id("btn").filter(has_text="收到")).to_be_enabled()
    phone.close()


def test_a_push_committed_after_a_later_one_shows_once_on_the_page(
        browser: Browser, db_live_app: LiveApp) -> None:
    """Two deliveries to the director's page: the first takes its id and is still open
    when the second commits (PostgreSQL), so the page shows the later push first. The
    earlier one shows as soon as it commits, and neither shows twice. (On SQLite the
    second delivery waits for the first.)"""
    from bot import invites
    from conversations.engine import Reply
    from store import outbox
    from store.db import is_postgres, transaction
    from store.models import Contact, Person

    services = db_live_app.services
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                  locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    token = invites.make_token(services.settings.secret_key, "chen_lihua")
    page.goto(f"{db_live_app.url}/i/{token}")
    expect(last_bot(page)).to_contain_text("职工群众工作室")
    expect(page.get_by_test_id("messages")).to_have_attribute("data-inbox-polls",
                                                              re.compile(r"^[1-9]"))
    with transaction(services.db) as s:
        director = s.exec(select(Person).where(Person.key == "chen_lihua")).one()
        address = s.exec(select(Contact.address).where(
            Contact.person_id == director.id, Contact.channel == "web")).one()
        first_id, second_id = (outbox.enqueue(
            s, key=f"late:{n}", recipient_id=director.id, message="notice.raw",
            params={}, now=services.clock.now()).id or 0 for n in (1, 2))
    web = services.senders["web"]
    first = Session(services.db)  # its id taken, its transaction still open
    web.deliver(first, address=address, reply=Reply("【紧急】配电房有人触电倒地"),
                notification_id=first_id)

    def second() -> None:
        with transaction(services.db) as s:
            web.deliver(s, address=address, reply=Reply("例行通知：周四例会改到下午"),
                        notification_id=second_id)

    later = threading.Thread(target=second)
    later.start()
    notices = page.get_by_test_id("notice-msg")
    if is_postgres(services.db):
        later.join(timeout=30)
        expect(notices.filter(has_text="例行通知")).to_have_count(1)
        expect(notices.filter(has_text="配电房")).to_have_count(0)
    first.commit()
    first.close()
    later.join(timeout=30)
    assert not later.is_alive()
    expect(notices.filter(has_text="配电房")).to_have_count(1)
    polls = int(page.get_by_test_id("messages").get_attribute("data-inbox-polls") or 0)
    expect(page.get_by_test_id("messages")).to_have_attribute(  # one more poll
        "data-inbox-polls", str(polls + 1), timeout=10_000)
    expect(notices).to_have_count(2)  # none twice
    context.close()
    assert errors == [], errors


def test_a_notice_is_timed_in_the_workrooms_zone_not_the_phones(
        browser: Browser, live_app: LiveApp) -> None:
    """The director's phone is on another zone (a trip abroad): the time under an alert
    is the workroom's, as in the alert's own words."""
    from bot import invites
    from tests.transcript import Chat

    services = live_app.services
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                  locale="zh-CN", timezone_id="America/Los_Angeles")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{live_app.url}/i/{invites.make_token(services.settings.secret_key, 'chen_lihua')}")
    expect(last_bot(page)).to_contain_text("职工群众工作室")
    idle(page)
    Chat(services, person="li_ming").dialog([
        ("菜单", "职工群众工作室"), ("[紧急情况报告]", "发生了什么"), ("食堂有人呕吐", "在哪里"),
        ("职工食堂", "立即发送"), ("[立即发送]", "已报告")])
    services.dispatcher.drain()
    alert = page.get_by_test_id("notice-msg").filter(has_text="【紧急】")
    shanghai = services.clock.now().astimezone(services.settings.zone).strftime("%Y-%m-%d %H:%M")
    expect(alert).to_contain_text(shanghai)  # the alert's own words
    expect(alert.locator(".time")).to_have_text(shanghai)
    context.close()


def test_failed_send_is_retried_with_the_same_id(page: Page, live_app: LiveApp) -> None:
    page.add_init_script("window.WORKROOM_RETRY_DELAYS = [200, 200];")
    page.goto(live_app.url + "/")
    expect(last_bot(page)).to_contain_text("职工群众工作室")
    idle(page)

    sent: list[Any] = []
    answered: list[Any] = []

    def offline(route: Route) -> None:
        sent.append(route.request.post_data_json)
        route.abort("internetdisconnected")

    page.route("**/api/chat", offline)
    box = page.get_by_test_id("input")
    box.fill("菜单")
    box.press("Enter")
    expect(page.get_by_test_id("status")).to_contain_text("网络不稳定，正在重试")
    expect(box).to_be_disabled()
    retry = page.get_by_test_id("retry")
    expect(retry).to_have_text("发送失败，点此重试")
    assert len(sent) == 3  # the first try and two retries

    def online(route: Route) -> None:
        answered.append(route.request.post_data_json)
        route.continue_()

    page.unroute("**/api/chat")
    page.route("**/api/chat", online)
    retry.tap()
    expect(page.get_by_test_id("bot-msg")).to_have_count(2)
    expect(page.get_by_test_id("status")).to_be_hidden()
    idle(page)
    assert len(answered) == 1
    ids = {str(body["id"]) for body in [*sent, *answered]}
    assert len(ids) == 1, ids
    assert re.fullmatch(r"[A-Za-z0-9_-]{8,64}", ids.pop())
    expect(page.get_by_test_id("user-msg")).to_have_count(1)


def _png(width: int = 24, height: int = 16) -> bytes:
    """A small red PNG, made here (no binary fixture)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xd0\x20\x20" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_the_photo_of_an_emergency_shows_in_the_chat(page: Page, live_app: LiveApp) -> None:
    """A worker's emergency report came with a photo (kept on the server); the director,
    in the web chat, presses 查看附件 under the alert and sees the photo in her chat."""
    from bot import invites
    from handlers.inbound import Inbound
    from store.models import MediaFile
    from tests.transcript import Chat

    services = live_app.services
    photo = _png()
    page.goto(f"{live_app.url}/i/{invites.make_token(services.settings.secret_key, 'chen_lihua')}")
    expect(last_bot(page)).to_contain_text("职工群众工作室")
    idle(page)

    reporter = Chat(services, person="li_ming")
    reporter.dialog([("菜单", "职工群众工作室"), ("[紧急情况报告]", "发生了什么")])
    services.workroom.process(Inbound(reporter.channel, reporter.address, "photo-1",
                                      attachments=({"kind": "photo", "file_ref": "GATE-1",
                                                    "mime_type": "image/png",
                                                    "size": len(photo)},)))
    reporter.dialog([("二十多人聚集在厂门口", "在哪里"), ("厂门口", "立即发送"),
                     ("[立即发送]", "已报告")])
    with Session(services.db) as s:  # its bytes fetched from the platform and kept
        s.add(MediaFile(channel=reporter.channel, file_ref="GATE-1", conversation_key="k",
                        content=photo, mime_type="image/png", size=len(photo),
                        received_at=services.clock.now(), fetched_at=services.clock.now()))
        s.commit()
    services.dispatcher.drain()

    alert = page.get_by_test_id("notice-msg").filter(has_text="【紧急】")
    expect(alert).to_contain_text("照片 1 张")
    alert.get_by_test_id("btn").filter(has_text="查看附件").tap()
    expect(page.get_by_test_id("bot-msg").filter(
        has_text="正在发送 E-2026-0001 的附件（1 个）")).to_have_count(1)
    services.dispatcher.drain()
    shown = page.get_by_test_id("notice-msg").filter(
        has=page.get_by_test_id("file")).locator("img")
    expect(shown).to_have_count(1)  # polled within a few seconds
    expect(shown).to_have_attribute("alt", re.compile("E-2026-0001"))
    page.wait_for_function("img => img.complete && img.naturalWidth === 24",
                           arg=shown.element_handle())
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-photo.png"))


def test_a_photo_from_the_phone_goes_with_the_complaint(page: Page, live_app: LiveApp) -> None:
    """The camera button sends a photo (kept with the report to come); a file that is no
    photo, voice note or video, or too large, is refused in the worker's words, the large
    one without its bytes sent."""
    from conversations.catalog import t
    from store.models import MediaFile

    services = live_app.services
    services.settings.web_file_max_mb = 1
    sent: list[str] = []  # each file's request, as the page made it
    page.on("request", lambda r: r.url.split("?")[0].endswith("/api/file")
            and sent.append(r.url))
    page.goto(live_app.url + "/")
    expect(last_bot(page)).to_contain_text("职工群众工作室")
    attach = page.get_by_test_id("attach")
    expect(attach).to_have_attribute("aria-label", "发送照片、语音或视频")
    box = attach.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44
    tap(page, "反映问题")
    tap(page, "安全生产")
    expect(last_bot(page)).to_contain_text("（2/8）")

    photo = _png()
    page.get_by_test_id("file").set_input_files(
        {"name": "guard.png", "mimeType": "image/png", "buffer": photo})
    expect(page.get_by_test_id("user-msg").last).to_have_text(re.compile("guard.png"))
    expect(page.get_by_test_id("bot-msg").filter(
        has_text=t("zh", "attachment.kept", count=1))).to_have_count(1)
    expect(last_bot(page)).to_contain_text("（2/8）")
    idle(page)
    with Session(services.db) as s:
        [kept] = s.exec(select(MediaFile)).all()
    assert kept.channel == "web" and kept.content == photo and kept.mime_type == "image/png"

    page.get_by_test_id("file").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"})
    expect(page.get_by_test_id("status")).to_have_text(t("zh", "web.file_kind"))
    expect(page.get_by_test_id("user-msg").last).to_contain_text("未发送")
    idle(page)

    big = b"\x00" * (1024 * 1024 + 1)
    page.get_by_test_id("file").set_input_files(
        {"name": "long.mp4", "mimeType": "video/mp4", "buffer": big})
    expect(page.get_by_test_id("status")).to_have_text(t("zh", "web.file_too_big", mb=1))
    idle(page)
    # Those refused went without their bytes, saying how large they were.
    assert ["size=" in url for url in sent] == [False, True, True]
    assert sent[2].endswith(f"&size={len(big)}")
    with Session(services.db) as s:
        assert len(s.exec(select(MediaFile)).all()) == 1
    # The question goes on where it was.
    type_answer(page, "车间的防护罩坏了一个月，没人来修，很危险。")
    expect(last_bot(page)).to_contain_text("（3/8）")
