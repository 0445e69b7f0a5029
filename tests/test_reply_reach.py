"""A case's answer reaches its complainant, or the handler is told truly who must pass it
on: a hotline caller this workroom cannot text is phoned back by the staff member who
took the call; a visitor registered at a reception is told in person."""

from __future__ import annotations

import pytest

from bot.bootstrap import Services
from store.models import Case, Notification
from tests.case_helpers import case_action, pushes
from tests.transcript import LANGS, Chat, all_rows, open_menu, t

REPLY = "十月加班费月底随工资补发"


@pytest.mark.parametrize("lang", LANGS)
def test_a_callers_answer_without_texts_goes_to_the_staff_to_phone_back(
        services: Services, lang: str) -> None:
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    staff.press(t(lang, "menu.file_for_caller"))
    staff.press(t(lang, "opt.caller_kind.complaint"))
    staff.say("13900000003")
    staff.say("夜班十月的加班费没有发")
    staff.press("铸造车间")
    staff.say(t(lang, "nav.skip"))
    staff.press(t(lang, "opt.category.wages"))
    staff.press(t(lang, "nav.confirm"))
    [case] = all_rows(services, Case)
    said = case_action(Chat(services, person="zhao_guoqiang"), lang, case.number, "reply",
                       REPLY)
    assert t(lang, "case_action.told.call_back") in said
    assert t(lang, "case_action.told.named") not in said
    services.dispatcher.drain()
    assert t(lang, "notice.reply_call_back", number=case.number, reply=REPLY) \
        in pushes(services, "liu_fang")
    assert all_rows(services, Notification, Notification.status == "failed") == []


@pytest.mark.parametrize("lang", LANGS)
def test_a_walk_in_visitors_answer_is_to_be_given_in_person(
        services: Services, lang: str) -> None:
    chen = Chat(services, person="chen_lihua")
    open_menu(chen, "zh")
    chen.press("填写接访台帐")
    chen.press("今天（工会领导随时接访）")
    for answer in ("王建国", "铸造车间", "夜班补贴被取消", "车间调整班次", "按规定核实补发",
                   "人力资源部"):
        chen.say(answer)
    chen.press(t("zh", "opt.solved.no"))
    chen.press(t("zh", "opt.category.wages"))
    chen.say("请一周内核实答复")
    chen.press(t("zh", "nav.confirm"))
    [case] = all_rows(services, Case)
    assert (case.anonymous, case.complainant_id) == (False, None)
    said = case_action(Chat(services, person="zhao_guoqiang"), lang, case.number, "reply",
                       REPLY)
    assert t(lang, "case_action.told.in_person") in said
    assert t(lang, "case_action.told.anonymous") not in said
