"""The FastAPI app: the web chat page and its JSON API."""

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from string import Template
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from bot import invites
from bot.bootstrap import Services
from handlers.inbound import Inbound
from store.db import is_postgres
from store.models import Contact, InboxMessage, Person
from store.types import unseen

COOKIE = "workroom_session"
MAX_BODY = 64 * 1024  # a Telegram update with a 4096-character text fits
# An edit is stamped before its transaction commits: a poll looks that much further back,
# so an edit committed just after the last poll read is not missed.
EDIT_MARGIN = timedelta(minutes=2)
INBOX_PAGE = 50
# A PostgreSQL snapshot as text (xmin:xmax:xip,…), the inbox poll's `seen` cursor. One
# longer than SEEN_MAX (hundreds of transactions open at once) is given as xmin:xmin:,
# which counts every transaction from xmin on as unseen: more rows again, none skipped.
SEEN = r"^\d{1,20}:\d{1,20}:(\d{1,20}(,\d{1,20})*)?$"
SEEN_MAX = 2000
STATIC = Path(__file__).parent / "static"


class ChatIn(BaseModel):
    id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    text: str | None = Field(default=None, max_length=4000)
    action: str | None = Field(default=None, max_length=200)


class ButtonOut(BaseModel):
    label: str
    value: str
    kind: str


class ReplyOut(BaseModel):
    text: str
    buttons: list[ButtonOut]


class ChatOut(BaseModel):
    replies: list[ReplyOut]


class InboxItem(BaseModel):
    id: int
    text: str
    buttons: list[ButtonOut]
    created_at: str
    version: int  # 0 as delivered, one more each edit in place (an alert acknowledged)


class InboxOut(BaseModel):
    # Those after `after`, a page at a time, and those up to `after` that the poll of
    # `seen` could not see yet (committed since, by a transaction open then); by id.
    messages: list[InboxItem]
    edited: list[InboxItem]  # those up to `after` edited since `since`
    cursor: int  # the `since` of the next poll
    seen: str | None = None  # the `seen` of the next poll (PostgreSQL; None on SQLite)


def _item(row: InboxMessage) -> InboxItem:
    return InboxItem(id=row.id or 0, text=row.text, created_at=row.created_at.isoformat(),
                     version=row.version,
                     buttons=[ButtonOut.model_validate(b) for b in row.buttons])


class FileOut(BaseModel):
    id: int
    kind: str
    channel: str
    mime_type: str | None
    size: int | None
    kept: bool
    fetching: bool  # its bytes are still being fetched from the platform
    url: str | None  # where its bytes are opened; None when only the platform's id is kept


class FilesOut(BaseModel):
    files: list[FileOut]


class MeOut(BaseModel):
    name: str
    role: str
    verified: bool
    lang: str
    # Whose chat this is, as an opaque tag ("" before the first message sets the cookie):
    # the page keeps what it showed (a receipt code shown once) under it, and forgets it
    # when another session takes the browser. Not the address: nothing to sign in with.
    session: str = ""
    # The workroom's time zone (WORKROOM_TIMEZONE): the page shows times in it, as the
    # words of the pushes do, whatever zone the phone is set to.
    zone: str = "Asia/Shanghai"
    # The largest file the page may send (bytes): a larger one is refused without its bytes.
    file_max: int = 0


def create_app(services: Services, *, run_scheduler: bool | None = None) -> FastAPI:
    settings = services.settings
    cookies = URLSafeSerializer(settings.secret_key, salt="workroom-web-session")
    start_jobs = settings.scheduler_enabled if run_scheduler is None else run_scheduler

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sched = None
        if start_jobs:
            from scheduler import runner

            sched = runner.start(services)
        if services.telegram is not None and start_jobs:
            # The command menu, in the background until Telegram takes it: a Telegram out
            # of reach neither holds up the start nor leaves the workers without it.
            services.telegram.start_commands()
            if settings.telegram_mode == "polling":
                services.telegram.start_polling()
        yield
        if services.telegram is not None:
            # Polling stopped, its last offset confirmed, every reply sent recorded: a
            # stop leaves nothing to take again or to send twice.
            await anyio.to_thread.run_sync(services.telegram.stop)
        if sched is not None:
            sched.shutdown(wait=False)

    app = FastAPI(title="Workroom", lifespan=lifespan)

    @app.middleware("http")
    async def cap_body(request: Request, call_next: Any) -> Any:
        # Refuse an oversized request before anything parses it. A file has its own,
        # larger limit, and is refused in the reader's words (see upload).
        if request.url.path == "/api/file":
            return await call_next(request)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return Response(status_code=413, content="request too large")
        return await call_next(request)

    def address_of(request: Request) -> str | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = cookies.loads(raw)
        except BadSignature:
            return None
        return data.get("a") if isinstance(data, dict) else None

    Address = Annotated[str | None, Depends(address_of)]

    def set_address(response: Response, address: str) -> None:
        response.set_cookie(COOKIE, cookies.dumps({"a": address}), httponly=True,
                            samesite="lax", max_age=180 * 24 * 3600,
                            secure=settings.base_url.startswith("https"))

    @app.get("/", response_class=HTMLResponse)
    def page() -> FileResponse:
        return FileResponse(STATIC / "chat.html", media_type="text/html; charset=utf-8")

    @app.get("/static/{name}")
    def static(name: str) -> FileResponse:
        path = (STATIC / name).resolve()
        if path.parent != STATIC.resolve() or not path.is_file():
            raise HTTPException(404)
        return FileResponse(path)

    @app.get("/favicon.ico")
    def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon",
                            headers={"Cache-Control": "public, max-age=604800"})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/i/{token}")
    def accept_invite(token: str) -> Response:
        key = invites.read_token(settings.secret_key, token,
                                 max_age_seconds=settings.invite_ttl_hours * 3600)
        with Session(services.read_db) as s:
            person = s.exec(select(Person).where(Person.key == key)).first() if key else None
        if person is None or not person.active:
            return FileResponse(STATIC / "invite_invalid.html", status_code=400,
                                media_type="text/html; charset=utf-8")
        response = RedirectResponse("/", status_code=303)
        set_address(response, f"p:{person.key}")
        return response

    def session_tag(address: str) -> str:
        return hmac.new(settings.secret_key.encode(), f"web-session\n{address}".encode(),
                        hashlib.sha256).hexdigest()[:24]

    @app.get("/api/me")
    def me(address: Address) -> MeOut:
        page = {"zone": settings.timezone, "file_max": settings.web_file_max_mb * 1024 * 1024}
        if address is None:
            return MeOut(name="", role="employee", verified=False, lang=settings.default_lang,
                         **page)
        tag = session_tag(address)
        with Session(services.read_db) as s:
            contact = s.exec(select(Contact).where(Contact.channel == "web",
                                                   Contact.address == address)).first()
            person = s.get(Person, contact.person_id) if contact else None
        if person is None:
            return MeOut(name="", role="employee", verified=False, lang=settings.default_lang,
                         session=tag, **page)
        return MeOut(name=person.name if person.verified else "", role=person.role,
                     verified=person.verified, lang=person.lang or settings.default_lang,
                     session=tag, **page)

    @app.post("/api/chat")
    async def chat(body: ChatIn, address: Address, request: Request,
                   response: Response) -> ChatOut:
        if body.text is None and body.action is None:
            raise HTTPException(422, "text or action required")
        if address is None:
            address = f"v:{secrets.token_urlsafe(16)}"
            set_address(response, address)
        lang = "en" if request.headers.get("accept-language", "").startswith("en") else None
        # The message id is namespaced by visitor, but stored without the address in it.
        message_id = hashlib.sha256(f"{address}\n{body.id}".encode()).hexdigest()[:40]
        inbound = Inbound(channel="web", address=address, message_id=message_id,
                          text=body.text, action=body.action, lang_hint=lang)
        replies = await anyio.to_thread.run_sync(services.workroom.process, inbound)
        return ChatOut(replies=[ReplyOut.model_validate(r.to_dict()) for r in replies])

    def lang_of(address: str | None, request: Request) -> str:
        """The reader's language: their own, else the browser's hint, else the default."""
        if address is not None:
            with Session(services.read_db) as s:
                person = web_person(s, address)
            if person is not None and person.lang:
                return person.lang
        hint = request.headers.get("accept-language", "")
        return "en" if hint.startswith("en") else settings.default_lang

    @app.post("/api/file")
    async def upload(address: Address, request: Request, response: Response,
                     id: Annotated[str, Query(min_length=8, max_length=64,
                                              pattern=r"^[A-Za-z0-9_-]+$")],
                     size: Annotated[int | None, Query(ge=0)] = None) -> ChatOut:
        """A photo, voice note or video: the request's body, its type the Content-Type."""
        from conversations import catalog
        from web import uploads

        try:
            kind, mime = uploads.kind_of(request.headers.get("content-type", ""))
            content = await uploads.read(request, settings.web_file_max_mb * 1024 * 1024,
                                         declared=size)
        except uploads.Refused as err:
            lang = await anyio.to_thread.run_sync(lang_of, address, request)
            raise HTTPException(err.status, catalog.t(lang, err.key, **err.params)) from err
        if address is None:
            address = f"v:{secrets.token_urlsafe(16)}"
            set_address(response, address)
        hint = "en" if request.headers.get("accept-language", "").startswith("en") else None
        message_id = hashlib.sha256(f"{address}\n{id}".encode()).hexdigest()[:40]
        inbound = Inbound(channel="web", address=address, message_id=message_id,
                          attachments=(uploads.attachment(kind, mime, message_id,
                                                          len(content)),), lang_hint=hint)

        def step() -> list[Any]:
            done = services.workroom.process_batch(
                [inbound], before_commit=uploads.keeping(services.clock, content))[0]
            if done.error is not None:
                raise done.error
            return done.replies

        replies = await anyio.to_thread.run_sync(step)
        return ChatOut(replies=[ReplyOut.model_validate(r.to_dict()) for r in replies])

    @app.get("/api/inbox")
    def inbox(address: Address, after: Annotated[int, Query(ge=0)] = 0,
              since: Annotated[int | None, Query(ge=0, le=10**11)] = None,
              seen: Annotated[str | None, Query(max_length=SEEN_MAX, pattern=SEEN)] = None
              ) -> InboxOut:
        """The pushes after `after`, those up to it the poll that answered `seen` could
        not see yet, and those shown edited since `since` (`since` and `seen`: cursors
        this answer gives).

        On PostgreSQL a row's id is taken at insert, and transactions commit in any
        order: a poll may show N+1 while N's transaction is still open, and the page
        then asks only for what comes after N+1. So each answer gives the snapshot it
        read under (`seen`), and the next also brings the rows up to `after` whose
        transaction that snapshot had not seen: N, once committed. A row may come twice
        (the page shows an id once); none is skipped. On SQLite one writer at a time
        commits in id order: there is no `seen`."""
        now = services.clock.now()
        cursor = int(now.timestamp())
        if address is None:
            return InboxOut(messages=[], edited=[], cursor=cursor)
        mine = (InboxMessage.channel == "web", InboxMessage.address == address)
        with Session(services.read_db) as s:
            snapshot = None
            if is_postgres(services.read_db):
                # Taken before the reads below: what it saw, they see.
                snapshot = str(s.connection().exec_driver_sql(
                    "SELECT pg_current_snapshot()::text").scalar_one())
                if len(snapshot) > SEEN_MAX:
                    xmin = snapshot.split(":", 1)[0]
                    snapshot = f"{xmin}:{xmin}:"
            rows = list(s.exec(select(InboxMessage).where(*mine, col(InboxMessage.id) > after)
                               .order_by(col(InboxMessage.id)).limit(INBOX_PAGE)).all())
            if seen is not None and after > 0 and snapshot is not None:
                # The rows of transactions open or not begun at `seen`: an index range
                # on (address, xact), a few rows.
                late = s.exec(select(InboxMessage).where(
                    *mine, col(InboxMessage.id) <= after,
                    col(InboxMessage.xact) >= min(int(seen.split(":", 1)[0]), 2**63 - 1))
                    .order_by(col(InboxMessage.id))).all()
                fresh = set(unseen(seen, [(r.id or 0, r.xact) for r in late]))
                rows = [r for r in late if r.id in fresh] + rows
            edited: Sequence[InboxMessage] = []
            if since is not None and after > 0:
                edited = s.exec(select(InboxMessage).where(
                    *mine, col(InboxMessage.id) <= after,
                    col(InboxMessage.edited_at) >= datetime.fromtimestamp(since, UTC)
                    - EDIT_MARGIN).order_by(col(InboxMessage.id))).all()
        return InboxOut(messages=[_item(r) for r in rows], edited=[_item(r) for r in edited],
                        cursor=cursor, seen=snapshot)

    refused_page = Template((STATIC / "refused.html").read_text(encoding="utf-8"))

    def refused(request: Request, status: int, lang: str, message: str) -> Response:
        """A download refused: for a browser that opened the link, a page that says why in
        the reader's language (and leads back to the chat); for anything else, the JSON
        error."""
        if "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": message}, status_code=status)
        from conversations import catalog

        return HTMLResponse(refused_page.substitute(
            lang="en" if lang == "en" else "zh-CN", title=escape(catalog.t(lang, "web.title")),
            heading=escape(catalog.t(lang, "web.refused")), message=escape(message),
            back=escape(catalog.t(lang, "web.back"))), status_code=status)

    def web_person(s: Session, address: str | None) -> Person | None:
        contact = s.exec(select(Contact).where(Contact.channel == "web",
                                               Contact.address == address)).first() \
            if address else None
        return s.get(Person, contact.person_id) if contact else None

    @app.get("/api/records/{number}/files")
    def record_files(number: str, address: Address) -> FilesOut:
        """A case's or an emergency report's photos and voice notes, for the staff."""
        from conversations import catalog
        from handlers.files import FileError, files_of

        with Session(services.read_db) as s:
            person = web_person(s, address)
            lang = (person.lang if person else None) or settings.default_lang
            try:
                found = files_of(s, number[:32], reader=person)
            except FileError as err:
                raise HTTPException(err.status, catalog.t(lang, err.key, **err.params)) from err
        return FilesOut(files=[FileOut(id=f.id, kind=f.kind, channel=f.channel,
                                       mime_type=f.mime_type, size=f.size, kept=f.kept,
                                       fetching=f.fetching,
                                       url=f"/files/{f.id}" if f.kept else None)
                               for f in found])

    @app.get("/files/{attachment_id}")
    def open_file(attachment_id: int, address: Address, request: Request) -> Response:
        """The bytes of a record's photo or voice note, for the staff (the read audited)."""
        from conversations import catalog
        from handlers.files import FileError
        from handlers.files import open_file as opened
        from store.db import transaction

        with transaction(services.db) as s:  # the read is audited in the same breath
            person = web_person(s, address)
            lang = (person.lang if person else None) or settings.default_lang
            try:
                kept = opened(s, attachment_id, reader=person, now=services.clock.now())
            except FileError as err:
                return refused(request, err.status, lang, catalog.t(lang, err.key, **err.params))
        return Response(kept.content, media_type=kept.mime_type, headers={
            "Content-Disposition": f'attachment; filename="{kept.name}"',
            "Cache-Control": "private, no-store"})

    @app.get("/export/{kind}.xlsx")
    def export(kind: str, address: Address, request: Request, month: str | None = None,
               case: str | None = None, report: str | None = None) -> Response:
        """A ledger or report as a spreadsheet, for the workroom's staff and director."""
        from conversations import catalog
        from handlers.exports import ExportError, build
        from store.db import transaction

        with transaction(services.db) as s:  # a complainant's name shown is an audited read
            contact = s.exec(select(Contact).where(Contact.channel == "web",
                                                   Contact.address == address)).first() \
                if address else None
            person = s.get(Person, contact.person_id) if contact else None
            lang = (person.lang if person else None) or settings.default_lang
            if person is None or not person.verified or person.unit_id is None \
                    or person.role not in ("staff", "director"):
                return refused(request, 403, lang, catalog.t(lang, "export.forbidden"))
            try:
                if report is not None and not report.strip().isdigit():
                    raise ExportError("export.no_report")
                data = build(s, kind, unit_id=person.unit_id, lang=lang, zone=settings.zone,
                             today=services.clock.now().astimezone(settings.zone).date(),
                             month=month, case=case, report_id=None if report is None
                             else int(report), reader=person, now=services.clock.now())
            except ExportError as err:  # a missing choice is said as the link gives it
                return refused(request, 404, lang, err.words(
                    lang, lambda option, example: f"/export/{kind}.xlsx?{option}={example}"))
        name = f"{kind}-{month or case or report or 'all'}.xlsx"
        return Response(data, headers={"Content-Disposition": f'attachment; filename="{name}"'},
                        media_type="application/vnd.openxmlformats-officedocument."
                                   "spreadsheetml.sheet")

    from web import telegram

    telegram.mount(app, services)

    from web import hotline

    hotline.mount(app, services)

    from web import wechat

    wechat.mount(app, services)
    return app
