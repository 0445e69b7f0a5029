"""What a WeChat / WeCom callback is wrapped in: signatures, the XML, the AES envelope.

Nothing in a callback is trusted before it passed here: the XML is parsed with DTDs and
entities forbidden (defusedxml), signatures are compared in constant time, and the AES
envelope (WXBizMsgCrypt: random 16 bytes, length, message, receiver id; AES-256-CBC) is
opened with wechatpy's cipher and checked to name this account as its receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring


class CallbackError(Exception):
    """A callback refused: the status code to answer and why (for the log)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted and joined."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_signature(given: str | None, *parts: str) -> None:
    expected = signature(*parts)
    if not given or not hmac.compare_digest(given.lower().encode(), expected.encode()):
        raise CallbackError(403, "bad signature")


def parse_xml(data: bytes | str) -> dict[str, str]:
    """The top-level fields of a WeChat XML document; DTDs and entities are refused."""
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as err:
        raise CallbackError(400, f"refused XML: {type(err).__name__}") from err
    if root.tag != "xml":
        raise CallbackError(400, "not a WeChat message")
    return {child.tag: (child.text or "").strip() for child in root}


@dataclass(frozen=True)
class Envelope:
    """The AES envelope of one account: token, EncodingAESKey and receiver id (the
    official account's app id, or the WeCom corp id)."""

    token: str
    aes_key: str
    receiver: str

    def _crypto(self) -> Any:
        import base64

        from wechatpy.crypto import PrpCrypto

        return PrpCrypto(base64.b64decode(self.aes_key + "="))

    def open(self, encrypted: str) -> str:
        """Decrypt a message; refuse one made for another receiver or malformed."""
        try:
            return str(self._crypto().decrypt(encrypted, self.receiver))
        except Exception as err:  # any failure to open is a forged or broken envelope
            raise CallbackError(400, f"cannot decrypt: {type(err).__name__}") from err

    def seal(self, xml: str, *, timestamp: str, nonce: str | None = None) -> str:
        """Encrypt and sign a passive reply the way WeChat expects it."""
        nonce = nonce or f"{secrets.randbelow(10**10):010d}"
        encrypted = self._crypto().encrypt(xml, self.receiver).decode()
        sig = signature(self.token, timestamp, nonce, encrypted)
        return (f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
                f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>"
                f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")


def text_reply(*, to_user: str, from_user: str, content: str, create_time: int) -> str:
    """A passive text reply; the content escaped (never CDATA, which `]]>` would end)."""
    return (f"<xml><ToUserName>{escape(to_user)}</ToUserName>"
            f"<FromUserName>{escape(from_user)}</FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType>text</MsgType>"
            f"<Content>{escape(content)}</Content></xml>")
