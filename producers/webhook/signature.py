"""Zalo's webhook signature (zalo-api.md §6.2): sha256 hex of id + raw body + timestamp + OA secret key.

It is a plain SHA-256 over the concatenation, not an HMAC, computed on the body bytes exactly as received.
Sources disagree on which secret signs and on whether the app id or the OA id comes first, so the accepted
secrets and id variants are configuration; ``verify`` says which variant matched, so operators can see
(in a metric label) which one Zalo really uses and then narrow the setting down.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from hoso.settings import Settings

VARIANTS = ("app_id", "oa_id")


@dataclass(frozen=True)
class SignatureConfig:
    """What a valid signature may be made of: the ids per variant, and the secrets (several during rotation)."""

    ids: dict[str, tuple[str, ...]]
    secrets: tuple[str, ...]
    variants: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> SignatureConfig:
        """The app id and default OA id as the two variants' ids; secrets and variant order from settings."""
        secrets = tuple(s.strip() for s in settings.zalo_oa_secret_keys.get_secret_value().split(",") if s.strip())
        variants = tuple(v.strip() for v in settings.webhook_signature_variants.split(",") if v.strip())
        return cls(
            ids={"app_id": (settings.zalo_app_id,), "oa_id": (settings.default_oa_id,)},
            secrets=secrets,
            variants=variants,
        )


def sign(first_id: str, raw_body: bytes, timestamp: str, secret: str) -> str:
    """The signature Zalo sends for ``raw_body``: lowercase hex SHA-256."""
    return hashlib.sha256(first_id.encode() + raw_body + timestamp.encode() + secret.encode()).hexdigest()


def clean_header(value: str | None) -> str | None:
    """The hex digest from a header value: trimmed, optional ``mac=`` prefix removed, lowercase."""
    if value is None:
        return None
    got = value.strip()
    if got[:4].lower() == "mac=":
        got = got[4:].strip()
    return got.lower() or None


def verify(config: SignatureConfig, raw_body: bytes, header: str | None, timestamp: str) -> str | None:
    """The variant (``app_id`` or ``oa_id``) whose signature equals ``header``; None when none does.

    Every candidate is compared with ``hmac.compare_digest``, so the time taken does not reveal how many
    leading characters of a forged signature were right.
    """
    got = clean_header(header)
    if got is None or not got.isascii():
        return None
    for variant in config.variants:
        for first_id in config.ids.get(variant, ()):
            for secret in config.secrets:
                if hmac.compare_digest(sign(first_id, raw_body, timestamp, secret), got):
                    return variant
    return None
