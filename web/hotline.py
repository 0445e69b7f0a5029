"""The hotline's webhook routes: check the provider's signature, step, commit — then answer.

A request whose X-Twilio-Signature does not match (computed over the public URL the
provider called and its POST parameters) is refused with 403 before anything is read or
stored; a body over MAX_BODY bytes, announced or streamed in chunks, with 413 before it
is parsed. What a step wrote to the outbox is delivered right after the answer is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import anyio
from fastapi import BackgroundTasks, FastAPI, Request, Response

from bot import twilio
from bot.bootstrap import Services
from bot.hotline import PREFIX, HotlineChannel
from web.wechat import TooLarge, read_capped

XML = "application/xml"
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# Twilio's webhooks are a few kilobytes (a text's 1,600 characters, ten media URLs, a
# recognised sentence): anything far larger is not from it.
MAX_BODY = 32 * 1024


def mount(app: FastAPI, services: Services) -> None:
    """Add the hotline's routes when a provider account is set."""
    channel: HotlineChannel | None = services.hotline
    if channel is None:
        return

    async def verified(request: Request) -> dict[str, str] | None:
        body = (await read_capped(request, MAX_BODY)).decode("utf-8", errors="replace")
        pairs = parse_qsl(body, keep_blank_values=True)
        url = channel.public_url + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        given = request.headers.get(twilio.SIGNATURE_HEADER, "")
        if not twilio.valid(channel.auth_token, url, pairs, given):
            return None
        return dict(pairs)

    def route(path: str, step: Callable[..., Any], *, kick: bool = False,
              with_n: bool = False) -> None:
        async def webhook(request: Request, background: BackgroundTasks) -> Response:
            try:
                form = await verified(request)
            except TooLarge:
                return Response(status_code=413)
            if form is None:
                return Response(status_code=403)
            args: tuple[Any, ...] = (form,)
            if with_n:
                n = request.query_params.get("n", "")
                if not n.isdigit():
                    return Response(status_code=400)
                args = (form, int(n))
            # A failure answers 500 and stores nothing of this step: the provider retries
            # or the caller hears an error; nothing is confirmed that is not committed.
            said = await anyio.to_thread.run_sync(step, *args)
            if kick and channel.kick is not None:
                background.add_task(channel.kick)
            return Response(content=said if isinstance(said, str) else EMPTY,
                            media_type=XML)

        app.add_api_route(PREFIX + path, webhook, methods=["POST"], include_in_schema=False,
                          name=f"hotline{path.replace('/', '_')}")

    route("/sms", channel.sms, kick=True)
    route("/voice", channel.incoming)
    route("/voice/menu", channel.menu)
    route("/voice/said", channel.said)
    route("/voice/recorded", channel.recorded)
    route("/voice/people", channel.people, kick=True)
    route("/voice/dialed", channel.dialed)
    route("/voice/recording", channel.recording)
    route("/voice/status", channel.ended, kick=True)
    route("/voice/alert", channel.alert_call, with_n=True)
    route("/voice/alert/ack", channel.alert_ack, kick=True, with_n=True)
    route("/voice/alert/status", channel.alert_status, kick=True, with_n=True)
