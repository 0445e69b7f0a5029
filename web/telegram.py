"""The Telegram webhook route: verify, parse, step, commit — then answer 200."""

from __future__ import annotations

import hmac
import json

from fastapi import FastAPI, Request, Response

from bot.bootstrap import Services
from bot.telegram import parse

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PATH = "/telegram/webhook"


def mount(app: FastAPI, services: Services) -> None:
    """Add the webhook route when Telegram runs in webhook mode."""
    settings, channel = services.settings, services.telegram
    if channel is None or settings.telegram_mode != "webhook":
        return
    secret = (settings.telegram_webhook_secret or "").encode()

    @app.post(PATH, include_in_schema=False)
    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secret or not hmac.compare_digest(given, secret):  # constant time
            return Response(status_code=403)
        try:
            data = json.loads(await request.body())
            if not isinstance(data, dict):
                raise ValueError("an update is a JSON object")
            inbound = parse(data)
        except ValueError:  # not an update (json's errors are ValueErrors too)
            return Response(status_code=400)
        # A failure here answers 500: Telegram delivers the update again later. The
        # replies are sent by the channel's pipeline as soon as the step commits.
        await channel.handle_from_other_loop(data, inbound)
        return Response(status_code=200)
