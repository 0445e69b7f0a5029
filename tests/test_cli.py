"""The `workroom` command as a new user runs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from bot.cli import app
from bot.invites import read_token
from bot.settings import get_settings
from store.db import make_engine
from store.models import Case, DutyEntry, Person

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("WORKROOM_DATABASE_URL", url)
    monkeypatch.setenv("WORKROOM_SECRET_KEY", "cli-secret")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _run(*args: str, input: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.output


def test_db_upgrade_then_demo_load_twice_is_idempotent(env: str) -> None:
    assert "database ready" in _run("db", "upgrade")
    _run("org", "load", "--demo")
    _run("org", "load", "--demo")
    engine = make_engine(env)
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Person)).one() == 22
        assert s.exec(select(func.count()).select_from(DutyEntry)).one() == 10
    engine.dispose()


def test_a_workroom_loaded_mid_week_can_be_booked_at_once(env: str) -> None:
    """Loading the file publishes the receptions that cannot wait for the next scheduled
    publication: workers can book from the moment the workroom opens, not after the
    day's 17:00 check. Loading again publishes nothing twice."""
    from store.models import DutyPublished, Notification

    _run("db", "upgrade")
    _run("org", "load", "--demo")
    engine = make_engine(env)
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(DutyPublished)).one() >= 1
        keys = [n.message_key for n in s.exec(select(Notification)).all()]
    assert "notice.roster_published" in keys
    _run("org", "load", "--demo")
    with Session(engine) as s:
        assert len(s.exec(select(Notification)).all()) == len(keys)
    engine.dispose()


def test_a_broken_organisation_file_is_refused_with_its_line(env: str, tmp_path: Path) -> None:
    _run("db", "upgrade")
    bad = tmp_path / "org.yaml"
    bad.write_text("unit: {key: u, name: 厂}\npeople:\n  - {key: a, name: 甲, role: boss}\n",
                   encoding="utf-8")
    result = runner.invoke(app, ["org", "load", str(bad)])
    assert result.exit_code == 1
    assert "org.yaml:3:" in result.output and "boss" in result.output


def test_invite_prints_a_link_that_opens_as_that_person(env: str) -> None:
    _run("db", "upgrade")
    _run("org", "load", "--demo")
    url = _run("invite", "chen_lihua").strip()
    assert url.startswith("http://127.0.0.1:8000/i/")
    assert read_token("cli-secret", url.rsplit("/", 1)[1], max_age_seconds=60) == "chen_lihua"
    unknown = runner.invoke(app, ["invite", "nobody"])
    assert unknown.exit_code == 1 and "nobody" in unknown.output


def test_console_chat_files_a_complaint(env: str) -> None:
    _run("db", "upgrade")
    _run("org", "load", "--demo")
    answers = ["2", "1", "十月加班费没有按时发放，车间很多人都没拿到", "2026-10", "3", "跳过",
               "1", "按规定补发加班费", "1", "a"]
    out = _run("chat", "--as", "li_ming", input="\n".join(answers) + "\n")
    assert "请核对以下内容" in out and "C-2026-0001" in out
    engine = make_engine(env)
    with Session(engine) as s:
        case = s.exec(select(Case)).one()
    engine.dispose()
    assert (case.category, case.affected, case.workshop_id is not None) == ("wages", 3, True)


def test_console_shows_the_navigation_words_in_brackets_of_their_language(env: str) -> None:
    _run("db", "upgrade")
    _run("org", "load", "--demo")
    out = _run("chat", "--as", "li_ming", input="1\nEnglish\n1\n")
    assert "  （返回 / 取消 / 帮助）" in out
    assert "  (Back / Cancel / Help)" in out and "（Back" not in out


def test_console_leader_sees_and_acknowledges_an_alert(env: str) -> None:
    _run("db", "upgrade")
    _run("org", "load", "--demo")
    _run("chat", "--as", "li_ming",
         input="\n".join(["4", "车间有人晕倒了", "铸造车间", "立即发送"]) + "\n")
    out = _run("chat", "--as", "chen_lihua", input="待确认的提醒\na\n")
    assert "E-2026-0001" in out and "已确认收到" in out


def test_without_a_secret_a_development_install_makes_its_own(
        env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKROOM_SECRET_KEY")
    get_settings.cache_clear()
    _run("db", "upgrade")
    _run("org", "load", "--demo")
    url = _run("invite", "li_ming").strip()
    secret_file = tmp_path / ".workroom-secret"
    secret = secret_file.read_text(encoding="utf-8")
    assert len(secret) >= 40 and secret_file.stat().st_mode & 0o077 == 0
    assert read_token(secret, url.rsplit("/", 1)[1], max_age_seconds=60) == "li_ming"
    get_settings.cache_clear()  # a restart keeps the links valid
    assert get_settings().secret_key == secret


def test_schema_check_tells_whether_migrations_ran(pg_url: str) -> None:
    from store.migrate import is_current, upgrade

    assert not is_current(pg_url)
    upgrade(pg_url)
    assert is_current(pg_url)
