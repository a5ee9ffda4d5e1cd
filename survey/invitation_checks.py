"""The invitation check of one rating, with the running survey's settings (used by the API and the form)."""

from __future__ import annotations

from survey.core.context import SurveyContext
from survey.invitations import Refusal, check, refusal
from survey.schemas import RatingCreate


def invitation_refusal(ctx: SurveyContext, rating: RatingCreate, channel_key: str | None) -> Refusal | None:
    """Why this rating may not be stored as far as invitations go, or None (see survey/invitations.py)."""
    settings = ctx.settings
    if rating.invitation is None and channel_key is None and settings.invitations == "optional":
        return None  # today's behaviour, at the cost of three comparisons
    keys: dict[str, bytes] = {ch: key.get_secret_value().encode() for ch, key in settings.channel_keys.items()}
    return refusal(settings.invitations == "required", keys, ctx.key, rating.invitation, rating.dossier_code,
                   rating.service_id, rating.channel, channel_key)


def link_refusal(ctx: SurveyContext, token: str | None, dossier_code: str | None, service_id: str) -> Refusal | None:
    """Whether the form may be shown for this link: with invitations required, only with a valid invitation for
    the dossier it names (the same check as on submission; the form cannot send a channel key)."""
    if ctx.settings.invitations == "optional" and not token:
        return None
    if not token:
        return "invitation_required"
    return check(ctx.key, token.strip(), (dossier_code or "").strip().upper(), service_id)
