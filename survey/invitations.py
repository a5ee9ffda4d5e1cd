"""Rating invitations: only the owner of a real dossier can rate it.

`dvcops survey invite` gives a citizen a link for one dossier of one service, valid until a time:

    /danh-gia/{service}?ma_ho_so={CODE}&moi={token}      token = {expiry, base 36}.{signature}

The signature is an HMAC-SHA256 (cut to 128 bits) of the service, the code and the expiry, with a key derived
from the survey's HMAC key; so the token is short enough for an SMS, and checking it costs one HMAC and no
database read (the rating path stays as lean as before). A token for another dossier or service, a forged or
altered one and an expired one are refused with 403 before anything is queued. Single use needs no table:
the survey already takes one rating per dossier, so a second rating with the same link gets 409 (and a
second link for the same dossier cannot add a rating either).

With DVCOPS_SURVEY_INVITATIONS=required (production) every rating needs a valid invitation, except those
sent by a kiosk or an app with its channel's API key (header X-Survey-Channel-Key, DVCOPS_SURVEY_CHANNEL_KEYS);
with `optional` (the default, today's behaviour) a rating may come without one, but a bad one is still refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from functools import lru_cache
from typing import Literal
from urllib.parse import quote, urlencode

from dvcops.i18n import Messages

CHANNEL_KEY_HEADER = "x-survey-channel-key"
TOKEN_PATTERN = r"^[0-9a-z]{1,13}\.[A-Za-z0-9_-]{22}$"
_TOKEN = re.compile(TOKEN_PATTERN)
_DERIVE = b"dvcops survey invitation v1"
Refusal = Literal["invitation_required", "invitation_invalid", "invitation_expired", "channel_key_invalid"]

REFUSALS = Messages({
    "invitation_required": (
        "Cần đường liên kết mời đánh giá được gửi cho chủ hồ sơ (tin nhắn hoặc giấy hẹn trả kết quả).",
        "a rating needs the invitation sent to the dossier's owner (field invitation, or ?moi= on the form)"),
    "invitation_invalid": ("Đường liên kết mời đánh giá không đúng với hồ sơ và dịch vụ này.",
                           "the invitation is not valid for this dossier and service"),
    "invitation_expired": ("Đường liên kết mời đánh giá đã hết hạn.", "the invitation has expired"),
    "channel_key_invalid": ("Khóa kênh không đúng.", "wrong channel key for this channel"),
})


@lru_cache(maxsize=8)
def _signing_key(key: bytes) -> bytes:
    """A key of its own for invitations, derived from the survey's HMAC key (never used for anything else)."""
    return hmac.new(key, _DERIVE, hashlib.sha256).digest()


def _signature(key: bytes, service_id: str, dossier_code: str, expires: int) -> str:
    mac = hmac.new(_signing_key(key), f"{service_id}\n{dossier_code}\n{expires}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:16]).rstrip(b"=").decode()


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def sign(key: bytes, dossier_code: str, service_id: str, expires: int) -> str:
    """The token for one dossier (its code as the survey stores it: upper-cased) of one service, valid until
    `expires` (seconds since 1970)."""
    return f"{_base36(expires)}.{_signature(key, service_id, dossier_code, expires)}"


def check(key: bytes, token: str, dossier_code: str, service_id: str, now: float | None = None) -> Refusal | None:
    """None if the token is valid for this dossier and service now; else why not."""
    if not _TOKEN.match(token):
        return "invitation_invalid"
    head, _, sig = token.partition(".")
    expires = int(head, 36)
    if not hmac.compare_digest(sig, _signature(key, service_id, dossier_code, expires)):
        return "invitation_invalid"  # forged, altered, or for another dossier or service
    if (time.time() if now is None else now) >= expires:
        return "invitation_expired"
    return None


def refusal(required: bool, channel_keys: dict[str, bytes], key: bytes, token: str | None, dossier_code: str,
            service_id: str, channel: str, channel_key: str | None) -> Refusal | None:
    """Whether a rating may be stored, as far as invitations go (None: yes). A channel key, when sent, must be
    that channel's; it stands in for the invitation."""
    if channel_key is not None:
        expected = channel_keys.get(channel)
        if expected is None or not hmac.compare_digest(channel_key.encode(), expected):
            return "channel_key_invalid"
        return None
    if token is None:
        return "invitation_required" if required else None
    return check(key, token, dossier_code, service_id)


def link(base_url: str, service_id: str, dossier_code: str, token: str) -> str:
    """The citizen's link to the form, with the dossier code filled in and the invitation attached."""
    return f"{base_url.rstrip('/')}/danh-gia/{quote(service_id)}?{urlencode({'ma_ho_so': dossier_code, 'moi': token})}"


def message(kind: str, lang: str = "en") -> str:
    return REFUSALS(kind, lang)
