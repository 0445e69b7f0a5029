"""The `workroom` command: serve, chat, db upgrade, org load, invite, flows."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from sqlmodel import Session, col, select

from bot.bootstrap import Services, build
from bot.settings import Settings, get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Workroom: 工会群众工作室")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
org_app = typer.Typer(no_args_is_help=True, help="The organisation file.")
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
telegram_app = typer.Typer(no_args_is_help=True, help="The Telegram channel.")
app.add_typer(telegram_app, name="telegram")
hotline_app = typer.Typer(no_args_is_help=True, help="The hotline (calls and texts).")
app.add_typer(hotline_app, name="hotline")


def _services(settings: Settings | None = None) -> Services:

    return build(settings or get_settings())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date."""
    from store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    armed, receptions = _arm_deadlines(settings)
    if armed:
        typer.echo(f"deadline reminders set for {armed} open case(s) registered before them")
    if receptions:
        typer.echo(f"visit-ledger reminders set for {receptions} booked reception(s)")
    typer.echo(f"database ready: {_safe_url(settings.database_url)}")


def _arm_deadlines(settings: Settings) -> tuple[int, int]:
    """Open cases from before the deadline timers get theirs, booked receptions from
    before the visit-ledger reminder theirs (idempotent); return how many of each."""
    from conversations.clock import SystemClock
    from handlers.bookings import ensure_ledger
    from handlers.deadlines import ensure_all
    from store.db import make_engine, transaction

    engine = make_engine(settings.database_url)
    now = SystemClock().now()
    try:
        with transaction(engine) as s:
            return (ensure_all(s, now=now, zone=settings.zone),
                    ensure_ledger(s, now=now, zone=settings.zone))
    finally:
        engine.dispose()


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@org_app.command("load")
def org_load(path: Path | None = typer.Argument(None, help="YAML file of the workroom"),
             demo: bool = typer.Option(False, "--demo", help="load the shipped demo workroom")
             ) -> None:
    """Validate an organisation file and load it (idempotent)."""
    from store import org

    if path is None and not demo:
        typer.echo("give a file, or --demo", err=True)
        raise typer.Exit(2)
    target = org.demo_org_path() if demo or path is None else path
    try:
        spec = org.parse_org(target)
    except org.OrgError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from err
    services = _services()
    from handlers import roster
    from store.db import transaction
    from store.models import Unit

    now = services.clock.now()
    with transaction(services.db) as s:
        report = roster.load_file(s, spec, now=now, zone=services.settings.zone)
        # Receptions that cannot wait for the next publication are published now: the
        # workers can book from the moment the workroom opens.
        unit = s.exec(select(Unit).where(Unit.key == spec.unit.key)).one()
        assert unit.id is not None
        roster.publish_what_cannot_wait(s, unit.id, now=now, zone=services.settings.zone,
                                        run=f"load:{now.date().isoformat()}")
    typer.echo(f"loaded {target}: {report}")


@app.command()
def invite(person: str = typer.Argument(..., help="person key from the organisation file"),
           channel: str = typer.Option("web", help="web, telegram or wechat")) -> None:
    """Print a link that opens the chat as this person (expires; Telegram's is one-time)."""
    from datetime import timedelta

    from bot.invites import invite_url
    from handlers.identity import issue_code
    from store.db import transaction
    from store.models import Person

    settings = get_settings()
    if channel not in ("web", "telegram", "wechat"):
        typer.echo(f"channel {channel!r} is not available yet (web, telegram, wechat)",
                   err=True)
        raise typer.Exit(2)
    if channel == "telegram" and not settings.telegram_token:
        typer.echo("set WORKROOM_TELEGRAM_TOKEN: the link opens the workroom's own bot",
                   err=True)
        raise typer.Exit(2)
    services = _services(settings)
    try:
        bot_name = _bot_name(services) if channel == "telegram" else ""
        with transaction(services.db) as s:
            found = s.exec(select(Person).where(Person.key == person)).first()
            if found is None:
                typer.echo(f"no person with key {person!r}", err=True)
                raise typer.Exit(1)
            if channel in ("telegram", "wechat"):
                code = issue_code(s, person=found, channel=channel, now=services.clock.now(),
                                  ttl=timedelta(hours=settings.invite_ttl_hours))
        from conversations import catalog

        if channel == "web":
            typer.echo(invite_url(settings.base_url, settings.secret_key, person))
        elif channel == "wechat":  # the follower sends "绑定 <code>" to the official account
            typer.echo(catalog.t(settings.default_lang, "wechat.invite", code=code,
                                 hours=settings.invite_ttl_hours))
        else:  # the link alone on its line (to copy), then what to tell the person
            typer.echo(f"https://t.me/{bot_name}?start={code}")
            typer.echo(catalog.t(settings.default_lang, "telegram.invite",
                                 name=found.name or person, hours=settings.invite_ttl_hours))
    finally:
        services.close()


def _bot_name(services: Services) -> str:
    """The bot's name as Telegram knows it (getMe): a link to any other bot would hand a
    one-time code, worth the person's alerts, to a stranger."""
    from telegram.error import TelegramError

    try:
        return str(services.telegram.username())
    except TelegramError as err:
        typer.echo(f"cannot ask Telegram for the bot's name: {err}", err=True)
        raise typer.Exit(1) from err


@telegram_app.command("set-webhook")
def telegram_set_webhook() -> None:
    """Register this server's webhook URL and secret with Telegram."""
    settings = get_settings()
    services = _services(settings)
    if services.telegram is None or settings.telegram_mode != "webhook":
        typer.echo("set WORKROOM_TELEGRAM_TOKEN and WORKROOM_TELEGRAM_MODE=webhook", err=True)
        raise typer.Exit(2)
    from bot.telegram import ALLOWED_UPDATES
    from web.telegram import PATH

    url = settings.base_url.rstrip("/") + PATH
    services.telegram.runner.run(services.telegram.bot.set_webhook(
        url=url, secret_token=settings.telegram_webhook_secret,
        allowed_updates=list(ALLOWED_UPDATES)))
    services.close()
    typer.echo(f"webhook set: {url}")


@app.command()
def flows(mermaid: bool = typer.Option(True, "--mermaid/--list")) -> None:
    """Print every flow's diagram (Mermaid), drawn from its declaration."""
    from conversations.diagram import all_flows
    from conversations.flows import FLOWS

    typer.echo(all_flows() if mermaid else "\n".join(FLOWS))


@app.command()
def chat(person: str = typer.Option(..., "--as", help="person key to chat as")) -> None:
    """Chat with the bot in this terminal, as a person of the organisation."""
    from bot.console import ConsoleChat
    from store.models import Person

    services = _services()
    with Session(services.db) as s:
        if s.exec(select(Person).where(Person.key == person)).first() is None:
            typer.echo(f"no person with key {person!r} (load the organisation first)", err=True)
            raise typer.Exit(1)
    console = ConsoleChat(services, person)
    typer.echo("输入序号或文字，Ctrl-D 退出 / type a number or text, Ctrl-D to quit")
    console.send("菜单")
    for line in sys.stdin:
        if line.strip():
            console.send(line)


@app.command()
def serve(demo: bool = typer.Option(False, "--demo", help="prepare the demo workroom first"),
          host: str | None = None, port: int | None = None) -> None:
    """Run the web chat and the scheduler."""
    import uvicorn

    from web.app import create_app

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    if "base_url" not in settings.model_fields_set:  # links must point where we listen
        settings = settings.model_copy(update={"base_url": f"http://{host}:{port}"})
    from store.migrate import is_current, upgrade

    if demo or settings.database_url.startswith("sqlite"):
        upgrade(settings.database_url)  # the embedded default keeps itself up to date
        _arm_deadlines(settings)
    elif not is_current(settings.database_url):
        typer.echo("the database schema is not up to date: run `workroom db upgrade` first",
                   err=True)
        raise typer.Exit(1)
    if demo:
        org_load(None, demo=True)
    services = _services(settings)
    if demo:
        _print_demo_links(services)
    app = create_app(services)
    import gc

    gc.collect()
    gc.freeze()  # start-up objects leave the collector's scans: shorter pauses under load
    uvicorn.run(app, host=host, port=port, log_level="info")


@app.command()
def doctor() -> None:
    """Say whether the scheduler is alive and what waits too long; exit 1 if not healthy."""
    from datetime import timedelta

    from sqlalchemy.exc import SQLAlchemyError

    from scheduler.heartbeat import health
    from store.migrate import is_current

    settings = get_settings()
    try:
        current = is_current(settings.database_url)
    except SQLAlchemyError as err:
        typer.echo(f"cannot read the database {_safe_url(settings.database_url)}: "
                   f"{type(err).__name__}", err=True)
        raise typer.Exit(1) from err
    if not current:
        typer.echo("the database schema is not up to date: run `workroom db upgrade` first",
                   err=True)
        raise typer.Exit(1)
    services = _services(settings)
    max_age = timedelta(seconds=services.settings.heartbeat_max_age_seconds)
    found = health(services.db, services.clock, max_age=max_age)
    for line in found.lines(services.clock.now()):
        typer.echo(line)
    services.close()
    if not found.alive or found.late_timers or found.late_pushes:
        if not found.alive:
            typer.echo("the scheduler is not running: start `workroom serve` (it runs the "
                       "scheduler) and check its log", err=True)
        raise typer.Exit(1)


@hotline_app.command("urls")
def hotline_urls() -> None:
    """Print the webhook addresses to set on the hotline number at the provider."""
    settings = get_settings()
    if not settings.hotline_enabled:
        typer.echo("set WORKROOM_TWILIO_ACCOUNT_SID, WORKROOM_TWILIO_AUTH_TOKEN and "
                   "WORKROOM_HOTLINE_NUMBER", err=True)
        raise typer.Exit(2)
    base = (settings.hotline_public_url or settings.base_url).rstrip("/") + "/hotline"
    typer.echo(f"number {settings.hotline_number} (Twilio console, Phone Numbers):")
    typer.echo(f"  A call comes in (POST):       {base}/voice")
    typer.echo(f"  Call status changes (POST):   {base}/voice/status")
    typer.echo(f"  A message comes in (POST):    {base}/sms")
    if not base.startswith("https://"):
        typer.echo("warning: the provider should call an https address", err=True)


def _print_demo_links(services: Services) -> None:
    from bot.invites import invite_url
    from store.models import Person

    settings = services.settings
    with Session(services.db) as s:
        people = s.exec(select(Person).where(Person.verified == True)  # noqa: E712
                        .order_by(col(Person.id))).all()
    typer.echo(f"\n工作室网页 / web chat: {settings.base_url}/  (anonymous visitor)")
    typer.echo("以下身份的登录链接 / open the chat as:")
    shown: dict[str, int] = {}
    for p in people:
        if shown.get(p.role, 0) >= (3 if p.role == "leader" else 1):
            continue
        shown[p.role] = shown.get(p.role, 0) + 1
        link = invite_url(settings.base_url, settings.secret_key, p.key)
        typer.echo(f"  {p.role:<8} {p.name:<6} {link}")
    typer.echo("")


@app.command()
def export(kind: str = typer.Argument(..., help="roster, ledger, forms, screening, warnings, "
                                                "report, field_visits, work_log"),
           out: Path = typer.Option(..., "--out", help="the .xlsx file to write"),
           month: str | None = typer.Option(None, help="2026-09 (default: this month)"),
           case: str | None = typer.Option(None, help="case number, for forms"),
           report: int | None = typer.Option(None, help="report id, for report"),
           lang: str = typer.Option("zh", help="zh or en")) -> None:
    """Write a ledger or report of the calendar as a spreadsheet (.xlsx)."""
    from handlers.exports import ExportError, build
    from store.models import Unit

    services = _services()
    try:
        with Session(services.db) as s:
            unit = s.exec(select(Unit).order_by(col(Unit.id))).first()
            if unit is None or unit.id is None:
                typer.echo("no organisation loaded: run `workroom org load` first", err=True)
                raise typer.Exit(1)
            data = build(s, kind, unit_id=unit.id, lang=lang, zone=services.settings.zone,
                         today=services.clock.now().astimezone(services.settings.zone).date(),
                         month=month, case=case, report_id=report)
    except ExportError as err:  # a missing option is said as it is typed: --case C-2026-0001
        typer.echo(err.words(lang, lambda option, example: f"--{option} {example}"), err=True)
        raise typer.Exit(1) from err
    finally:
        services.close()
    out.write_bytes(data)
    typer.echo(f"wrote {out}")
wechat_app = typer.Typer(no_args_is_help=True, help="WeChat official account and WeCom.")
wechat_menu_app = typer.Typer(no_args_is_help=True, help="The custom menu.")
wechat_app.add_typer(wechat_menu_app, name="menu")
app.add_typer(wechat_app, name="wechat")


@wechat_menu_app.command("push")
def wechat_menu_push() -> None:
    """Create the custom menu (four flows, my cases, language) on the official account and
    the WeCom application that are configured."""
    from bot.wechat_api import ApiError
    from bot.wechat_render import custom_menu

    settings = get_settings()
    services = _services(settings)
    channels = [c for c in (services.wechat, services.wecom) if c is not None]
    if not channels:
        typer.echo("set WORKROOM_WECHAT_APP_ID or WORKROOM_WECOM_CORP_ID first", err=True)
        raise typer.Exit(2)
    failed = False
    try:
        for channel in channels:
            try:
                channel.api.create_menu(custom_menu(settings.default_lang))
                typer.echo(f"{channel.channel}: menu pushed")
            except ApiError as err:
                typer.echo(f"{channel.channel}: menu refused: {err}", err=True)
                failed = True
    finally:
        services.close()
    if failed:
        raise typer.Exit(1)


def main() -> None:
    app()
