"""A WeChat push's button is pressed by typing its words, and a leader's pushes about
different cases share the words "办理此问题": typed after two such pushes, they must not
open whichever case came last (progress recorded on the wrong case), but ask which one."""

from __future__ import annotations

import httpx

from bot.bootstrap import Services
from bot.wechat_render import merge_words
from conversations.catalog import t
from store.models import Case
from tests.fakes.wechat_api import FakeWeChatApi
from tests.test_wechat_flows import EMPLOYEE, complaint_steps, leader
from tests.transcript import all_rows
from tests.wechat_chat import WxChat, api, client, run, wx

__all__ = ["api", "client", "wx"]  # fixtures from tests/wechat_chat


async def complain(chat: WxChat, what: str) -> None:
    await run(chat, [*complaint_steps(what, "补发加班费"), ("确认提交", "C-2026-")])


async def test_the_words_of_two_cases_pushes_ask_which_case(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    zhao = await leader(client, wx, api, "demo_zhaoguoqiang")
    chat = WxChat(client, wx, api, "wecom", EMPLOYEE["wecom"])
    await complain(chat, "十月份的加班费到现在还没有发下来")
    [first] = zhao.new_texts()
    assert first.startswith("【交办】C-2026-0001") and "「办理此问题」" in first
    # One case pushed: its words open that case's actions at once.
    assert any("记录进展" in x for x in await zhao.say("办理此问题"))
    await zhao.say("取消")
    await complain(chat, "十一月份的夜班补贴也少算了")
    [second] = zhao.new_texts()
    assert "C-2026-0002" in second.splitlines()[0] and "「办理此问题」" in second
    assert len(all_rows(wx, Case)) == 2
    # Two cases pushed: the same words now ask which, rather than taking the latest.
    said = "\n".join(await zhao.say("办理此问题"))
    assert t("zh", "case_action.case.ask") in said, said
    assert "C-2026-0001" in said and "C-2026-0002" in said
    assert "记录进展" not in said
    # The answer picks the case; then its actions.
    listed = [line for line in said.splitlines() if "C-2026-0001" in line]
    number = listed[0].split(".", 1)[0].strip()
    assert any("记录进展" in x for x in await zhao.say(number))


def test_words_shared_by_pushes_of_one_flow_and_different_records_open_it_unchosen() -> None:
    one, two = "flow:case_action?case=1", "flow:case_action?case=2"
    assert merge_words({}, {"办理此问题": one}) == {"办理此问题": one}
    # The same case pushed again (a reminder after the assignment): still that case.
    assert merge_words({"办理此问题": one}, {"办理此问题": one}) == {"办理此问题": one}
    # Another case: the flow, its case to be chosen; and it stays so after a third push.
    both = merge_words({"办理此问题": one, "零报告": "opt:x"}, {"办理此问题": two})
    assert both == {"零报告": "opt:x", "办理此问题": "flow:case_action"}
    assert merge_words(both, {"办理此问题": one}) == {"零报告": "opt:x",
                                                    "办理此问题": "flow:case_action"}
    # Files of two records: asked whose, the newest last, at most five.
    files = merge_words({"查看附件": "files:E-1"}, {"查看附件": "files:E-2"})
    assert files == {"查看附件": "files:E-1,E-2"}
    assert merge_words(files, {"查看附件": "files:E-1"}) == {"查看附件": "files:E-2,E-1"}
    for n in range(3, 9):
        files = merge_words(files, {"查看附件": f"files:E-{n}"})
    assert files == {"查看附件": "files:E-4,E-5,E-6,E-7,E-8"}
    # Words of anything else: the newest push wins, as before.
    assert merge_words({"零报告": "opt:a"}, {"零报告": "opt:b"}) == {"零报告": "opt:b"}
