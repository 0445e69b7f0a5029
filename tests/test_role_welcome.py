"""The welcome of the roles and people the role's own words did not fit: the upper
union's contact."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from tests.test_flow_common import chat_text_is, menu_labels
from tests.transcript import LANGS, Chat, open_menu, t

pytestmark = pytest.mark.usefixtures("published_roster")

UPPER_UNION_MENU = ["suggestion", "complaint", "booking", "emergency", "my_cases",
                    "my_bookings", "receipt", "rate", "lang", "cal_work_log"]


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
