"""The WeChat official account and WeCom callback routes: verify, step, answer in time."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, Request, Response
from starlette.background import BackgroundTask

from bot.bootstrap import Services
from bot.wechat import WeChatChannel
from bot.wechat_envelope import CallbackError

log = logging.getLogger(__name__)
PATHS = {"wechat": "/wechat/callback", "wecom": "/wecom/callback"}


class TooLarge(Exception):
    pass


async def read_capped(request: Request, cap: int) -> bytes:
    """The body, refused past `cap` bytes whether or not a length was announced."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > cap):
        raise TooLarge
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > cap:
            raise TooLarge
    return bytes(body)


def mount(app: FastAPI, services: Services) -> None:
    """Add the callback routes of the configured accounts."""
    for channel in (services.wechat, services.wecom):
        if channel is not None:
            _routes(app, channel)


def _routes(app: FastAPI, channel: WeChatChannel) -> None:
    path = PATHS[channel.channel]

    @app.get(path, include_in_schema=False, name=f"{channel.channel}_verify")
    def verify(request: Request) -> Response:
        try:
            echo = channel.verify_url(request.query_params)
        except CallbackError as err:
            log.warning("%s: URL verification refused: %s", channel.channel, err)
            return Response(status_code=err.status)
        return Response(echo, media_type="text/plain")

    @app.post(path, include_in_schema=False, name=f"{channel.channel}_callback")
    async def callback(request: Request) -> Response:
        started = time.monotonic()
        try:
            body = await read_capped(request, channel.max_body)
            answer = await channel.handle(request.query_params, body, started)
        except TooLarge:
            return Response(status_code=413)
        except CallbackError as err:
            log.warning("%s: callback refused (%s): %s", channel.channel, err.status, err)
            return Response(status_code=err.status)
        except Exception:  # the step failed: nothing committed, WeChat asks again
            log.exception("%s: callback failed", channel.channel)
            return Response(status_code=500)
        task = BackgroundTask(answer.after) if answer.after is not None else None
        media = "application/xml" if answer.xml else "text/plain"
        return Response(answer.body, media_type=media, background=task)
