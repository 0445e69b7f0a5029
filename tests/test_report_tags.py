"""A report's title as the tag of an English push reads in capitals like every other tag
("[WEEKLY REPORT]", as "[OVERDUE]"), and in its sentences in lower case; Chinese is as
it was ("【工作周通报】")."""

from __future__ import annotations

import pytest

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from tests.calendar_helpers import at, last_push, pushes, run_until, tap
from tests.test_info_reports import write
from tests.transcript import LANGS, Chat, open_menu, t

WEEK = {"zh": "2026年第48周（11-23 至 11-29）", "en": "week 48 of 2026 (11-23 to 11-29)"}
TAG = {"zh": "【工作周通报】", "en": "[WEEKLY REPORT] "}
INFO_TAG = {"zh": "【信息报告】", "en": "[INFORMATION REPORT] "}


@pytest.mark.parametrize("lang", LANGS)
def test_the_weekly_report_is_tagged_like_every_other_push(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Before, the upper union's English push of the week's report began "[weekly report]",
    lower case among "[OVERDUE]", "[EMERGENCY]", "[REPORT REMINDER]"; so did the report
    as 报告审核 showed it to the director. Now both begin "[WEEKLY REPORT]"; the sentence
    that says it was approved keeps "the weekly report"."""
    director, upper = Chat(services, person="chen_lihua"), Chat(services, person="qian_wenjing")
    open_menu(director, lang)
    open_menu(upper, lang)
    run_until(services, clock, at(12, 3, 15, 1))  # Thursday: the weekly report's reminder
    tap(director, last_push(services, "chen_lihua"), t(lang, "menu.cal_report_action"))
    assert director.replies[-1].text.startswith(TAG[lang] + WEEK[lang])
    director.press(t(lang, "opt.report_action.approve"))
    director.press(t(lang, "nav.confirm"))
    done = {"zh": f"工作周通报 {WEEK['zh']} 已批准", "en": f"The weekly report, {WEEK['en']},"}
    assert done[lang] in director.text
    services.dispatcher.drain()
    [sent] = pushes(services, "qian_wenjing")
    assert sent.startswith(TAG[lang] + WEEK[lang] + "\n")


@pytest.mark.parametrize("lang", LANGS)
def test_an_information_report_is_tagged_like_every_other_push(
        services: Services, lang: str) -> None:
    """An information report the staff send at once reaches the upper union tagged
    "[INFORMATION REPORT]" (before: "[information report]")."""
    staff, upper = Chat(services, person="liu_fang"), Chat(services, person="qian_wenjing")
    open_menu(upper, lang)
    write(staff, lang, "timely", "今天" if lang == "zh" else "today", sign="direct")
    services.dispatcher.drain()
    [sent] = pushes(services, "qian_wenjing")
    assert sent.startswith(INFO_TAG[lang] + "I-2026-0001\n")
