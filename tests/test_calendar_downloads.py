"""The exports as people get them: a download of the web app for the staff and director
only, and `workroom export` on the command line."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot import invites
from bot.bootstrap import Services
from bot.cli import app as cli
from bot.settings import get_settings
from store.models import IdentityRead
from tests.calendar_helpers import rows, workbook
from tests.case_helpers import case_action, file_complaint, the_case
from tests.transcript import Chat, person, t
from web.app import create_app


@pytest.fixture
async def web(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services, run_scheduler=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def as_person(client: httpx.AsyncClient, services: Services, key: str) -> None:
    r = await client.get(f"/i/{invites.make_token(services.settings.secret_key, key)}")
    assert r.status_code == 303


def field_visit(services: Services) -> None:
    staff = Chat(services, person="liu_fang")
    staff.say("菜单")
    staff.press("下基层走访")
    staff.press("总装车间")
    staff.say("装配班组长")
    staff.say("加班安排提前通知")


async def test_staff_download_a_ledger_others_are_refused(web: httpx.AsyncClient,
                                                          services: Services) -> None:
    field_visit(services)
    anonymous = await web.get("/export/field_visits.xlsx?month=2026-11")
    assert anonymous.status_code == 403
    await as_person(web, services, "li_ming")
    assert (await web.get("/export/field_visits.xlsx?month=2026-11")).status_code == 403
    await as_person(web, services, "liu_fang")
    r = await web.get("/export/field_visits.xlsx?month=2026-11")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="field_visits-2026-11.xlsx"' in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content))["下基层走访"]
    assert rows(sheet)[1] == ["2026-11-23", "刘芳", "总装车间", "装配班组长", "加班安排提前通知"]
    missing = await web.get("/export/forms.xlsx?case=C-2026-0042")
    assert (missing.status_code, missing.json()["detail"]) == (
        404, "没有编号为 C-2026-0042 的案件。")


def test_workroom_export_writes_the_file(services: Services, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    field_visit(services)
    monkeypatch.setenv("WORKROOM_DATABASE_URL", services.settings.database_url)
    monkeypatch.setenv("WORKROOM_SECRET_KEY", "cli-secret")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        out = tmp_path / "visits.xlsx"
        done = runner.invoke(cli, ["export", "field_visits", "--month", "2026-11", "--lang",
                                   "en", "--out", str(out)])
        assert done.exit_code == 0, done.output
        sheet = load_workbook(out)["Shop-floor visits"]
        assert rows(sheet)[0] == ["Date", "Staff", "Workshop", "Talked with", "Issues heard"]
        assert rows(sheet)[1][2] == "总装车间"
        bad = runner.invoke(cli, ["export", "screening", "--month", "2026-10", "--out",
                                  str(tmp_path / "x.xlsx")])
        assert bad.exit_code == 1 and "2026-10 没有矛盾纠纷排查。" in bad.output
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_workroom_export_says_which_option_is_missing(services: Services, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      lang: str) -> None:
    """Regression: `export forms` without --case said "没有编号为  的案件。", `export
    report` without --report "没有找到这份报告。"."""
    monkeypatch.setenv("WORKROOM_DATABASE_URL", services.settings.database_url)
    monkeypatch.setenv("WORKROOM_SECRET_KEY", "cli-secret")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        out = str(tmp_path / "x.xlsx")
        forms = runner.invoke(cli, ["export", "forms", "--lang", lang, "--out", out])
        assert forms.exit_code == 1
        assert t(lang, "export.need_case", example="--case C-2026-0001") in forms.output
        report = runner.invoke(cli, ["export", "report", "--lang", lang, "--out", out])
        assert report.exit_code == 1
        assert t(lang, "export.need_report", example="--report 1") in report.output
        assert not Path(out).exists()
    finally:
        get_settings.cache_clear()


def test_a_phoned_in_cases_wanted_outcome_is_in_the_readers_language(
        services: Services) -> None:
    """Regression: the English forms of a case the staff filed for a caller said
    "Outcome wanted: （电话反映，具体诉求待工作人员回访补充）", the placeholder as stored."""
    staff = Chat(services, person="liu_fang")
    staff.say("菜单")
    staff.press(t("zh", "menu.file_for_caller"))
    staff.press(t("zh", "opt.caller_kind.complaint"))
    staff.say("13900000002")
    staff.say("食堂饭菜变质，多人腹泻")
    staff.press("总装车间")
    staff.say("3")
    staff.press(t("zh", "opt.category.living"))
    staff.press(t("zh", "nav.confirm"))
    assert "C-2026-0001" in staff.text
    for lang in ("en", "zh"):
        forms = workbook(services, "forms", lang=lang, case="C-2026-0001")
        registration = dict((r[0], r[1]) for r in rows(forms.worksheets[0])[1:])
        assert registration[t(lang, "export.col.wanted")] == t(lang, "hotline.outcome_unknown")


async def test_a_refused_download_says_why_in_the_readers_language(
        web: httpx.AsyncClient, services: Services) -> None:
    anonymous = await web.get("/export/field_visits.xlsx")
    assert (anonymous.status_code, anonymous.json()["detail"]) == (
        403, t("zh", "export.forbidden"))
    await as_person(web, services, "daniel_hughes")  # an employee who reads English
    refused = await web.get("/export/field_visits.xlsx")
    assert (refused.status_code, refused.json()["detail"]) == (
        403, "Only the workroom's staff and director may download these spreadsheets.")


def test_an_english_export_has_english_titles_and_status_words(services: Services) -> None:
    """Regression: the forms showed raw codes (an extension "pending", the channel "web")."""
    li = Chat(services, person="li_ming", channel="web")
    file_complaint(li, "zh")
    said = case_action(Chat(services, person="zhao_guoqiang"), "zh", "C-2026-0001", "extend",
                       "10", "需要等月底工资核算")
    assert "C-2026-0001" in said
    forms = workbook(services, "forms", lang="en", case="C-2026-0001")
    assert forms.sheetnames == ["Registration form", "Assignment form", "Supervision form",
                                "Completion form"]
    registration = rows(forms["Registration form"])
    assert registration[0] == ["Field", "Value"]
    assert dict((r[0], r[1]) for r in registration[1:])["Source"] == \
        "raised by an employee via web chat"
    supervision = rows(forms["Supervision form"])
    assert supervision[0] == ["Time", "Event", "By", "Note"]
    # The extension once, with how it stands (not also as the timeline's "+10: …").
    assert supervision[1][1:] == ["extension of 10 days asked", "赵国强",
                                  "需要等月底工资核算 (waiting for a decision)"]
    assert not any("+10" in str(r[3]) for r in supervision[1:])
    assert supervision[-1][1:] == ["Status", "assigned",
                                   f"due {the_case(services).due_on.isoformat()}"]
    zh = rows(workbook(services, "forms", case="C-2026-0001")["督办单"])
    assert zh[1][3] == "需要等月底工资核算 (待审批)"
    assignment = dict((r[0], r[1]) for r in rows(forms["Assignment form"])[1:])
    assert "category:" not in str(assignment)  # the category assigned by, in words


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_text_that_looks_like_a_formula_stays_text_in_the_export(services: Services,
                                                                  lang: str) -> None:
    """Regression: an answer typed in chat that begins with "=" (a complainant's words in
    the ledger, a liaison's dispute, a visit's notes) was written as a live formula, which
    the staff's spreadsheet program would run (a link to anywhere, a DDE command)."""
    typed = '=HYPERLINK("http://evil.example/","详情")'
    staff = Chat(services, person="liu_fang")
    staff.say("菜单")
    staff.press("下基层走访")
    staff.press("总装车间")
    staff.say("=1+1 班组")
    staff.say(typed)
    sheet = workbook(services, "field_visits", lang=lang).worksheets[0]
    assert [c.value for c in sheet[2]][3:] == ["=1+1 班组", typed]
    assert [c.data_type for c in sheet[2]][3:] == ["s", "s"]


def _visitor(content: bytes) -> str:
    form = load_workbook(io.BytesIO(content))["登记单"]
    return str(dict((r[0], r[1]) for r in rows(form)[1:])["来访人"])


def _reads(services: Services) -> list[tuple[int | None, str]]:
    with Session(services.db) as s:
        return [(r.reader_id, r.purpose) for r in s.exec(select(IdentityRead))
                if r.purpose == "export"]


async def test_the_case_forms_name_the_complainant_only_to_those_handling_it(
        web: httpx.AsyncClient, services: Services) -> None:
    """A named complaint: 刘芳 of the staff, not handling it, downloads its forms without the
    complainant's name; the director of a leader case (told who complained) with it, and that
    read is audited (DESIGN rule 8)."""
    file_complaint(Chat(services, person="li_ming"), "zh")  # 赵国强 handles it
    file_complaint(Chat(services, person="li_ming"), "zh", affected="25")  # a leader case
    await as_person(web, services, "liu_fang")
    r = await web.get("/export/forms.xlsx?case=C-2026-0001")
    assert r.status_code == 200
    assert _visitor(r.content) == t("zh", "person.withheld")
    assert "李明" not in str(rows(load_workbook(io.BytesIO(r.content))["登记单"]))
    assert _reads(services) == []
    await as_person(web, services, "chen_lihua")
    r = await web.get("/export/forms.xlsx?case=C-2026-0001")  # not hers to handle
    assert _visitor(r.content) == t("zh", "person.withheld")
    r = await web.get("/export/forms.xlsx?case=C-2026-0002")
    assert _visitor(r.content) == "李明"
    assert _reads(services) == [(person(services, "chen_lihua").id, "export")]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_case_forms_carry_the_cosigners_and_why_it_is_a_leader_case(
        services: Services, lang: str) -> None:
    """A joint letter signed by 25: its forms said 涉及人数 3 and 领导包案 是, and
    nowhere how many signed it or why it is a leader case."""
    from tests.test_flow_complaint import complain

    complain(Chat(services, person="li_ming"), lang, affected="3", cosigners="25")
    forms = workbook(services, "forms", lang=lang, case="C-2026-0001")
    registration = dict((r[0], r[1]) for r in rows(forms.worksheets[0])[1:])
    assert (registration[t(lang, "export.col.people")],
            registration[t(lang, "export.col.cosigners")]) == (3, 25)
    assignment = dict((r[0], r[1]) for r in rows(forms.worksheets[1])[1:])
    assert assignment[t(lang, "export.col.leader_case")] == t(lang, "export.yes")
    assert assignment[t(lang, "export.col.leader_case_reason")] == t(
        lang, "case.why.joint", cosigners=25)


async def test_a_repeat_cases_forms_name_its_earlier_case_only_to_those_handling_it(
        web: httpx.AsyncClient, services: Services) -> None:
    li = Chat(services, person="li_ming")
    file_complaint(li, "zh")
    file_complaint(li, "zh")  # a second wage complaint of his: a repeat, a leader case
    reason = t("zh", "export.col.leader_case_reason")

    def why(content: bytes) -> str:
        form = load_workbook(io.BytesIO(content))["交办单"]
        return str(dict((r[0], r[1]) for r in rows(form)[1:])[reason])

    await as_person(web, services, "liu_fang")  # the staff: not whose earlier case
    r = await web.get("/export/forms.xlsx?case=C-2026-0002")
    assert why(r.content) == t("zh", "case.why.repeat_withheld")
    await as_person(web, services, "chen_lihua")  # the director of a leader case
    r = await web.get("/export/forms.xlsx?case=C-2026-0002")
    assert why(r.content) == t("zh", "case.why.repeat", numbers="C-2026-0001")
