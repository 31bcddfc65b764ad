"""Brandname-SMS providers per Official Account, and the one HTTP call hoso makes to them.

Vietnamese brandname SMS (tin nhắn thương hiệu) is sold by carriers and resellers, each with its own API; they
share one shape, which is the contract here: ``POST {url}/sms/send`` with a bearer key and a JSON body
``{brandname, phone (84…), message, request_id, unicode}``, answered ``{"code": "00", "message_id": …}`` on
success. An adapter for a provider with another shape is a new ``SmsProvider.send``, not a new consumer.

The file (``HOSO_SMS_CONFIG``; it holds API keys, so mount it from a secret store) maps OAs to providers,
because the OA already stands for a province or agency group: the same authority sends by Zalo and by SMS
under its own registered brandname.

```json
{"providers": [{"name": "qn", "url": "https://sms.example.vn/api", "api_key": "…", "brandname": "UBND-QNINH",
                "oa_ids": ["oa-quangninh"], "max_chars": 459, "unaccented": true}],
 "default": "qn"}
```
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import orjson

from hoso import metrics
from hoso.config_file import config_entries
from hoso.errors import ConfigurationError

SEND_PATH = "/sms/send"

# Provider codes, and what hoso does with each (anything unlisted is treated as transient: retried).
OK = "00"
PERMANENT_CODES = frozenset({"11", "12", "14"})
"""11 invalid number, 12 number on the do-not-disturb list / blocked the brandname, 14 content refused."""
CONFIG_CODES = frozenset({"10", "13"})
"""10 bad API key, 13 brandname not registered for this account: an operator must fix the configuration."""

KNOWN_CODES = frozenset({OK, *PERMANENT_CODES, *CONFIG_CODES, "99", "network", "bad_body", "401", "403", "429", "500"})
"""Codes used as metric labels as they are; any other provider code is labelled "other" (bounded series)."""


class SendOutcome(StrEnum):
    """What one provider request ended as."""

    ACCEPTED = "accepted"
    PERMANENT = "permanent"
    TRANSIENT = "transient"
    CONFIG = "config"


@dataclass(frozen=True)
class SendResult:
    """The provider's answer, classified."""

    outcome: SendOutcome
    code: str
    message_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class SmsProvider:
    """One provider account: endpoint, key, the brandname it sends under, and how long a text may be."""

    name: str
    url: str
    api_key: str
    brandname: str
    oa_ids: tuple[str, ...] = ()
    max_chars: int = 459
    unaccented: bool = True

    def __repr__(self) -> str:  # the key never reaches logs
        return f"SmsProvider({self.name!r}, brandname={self.brandname!r}, oa_ids={self.oa_ids!r})"

    async def send(
        self, client: httpx.AsyncClient, *, oa_id: str, phone: str, message: str, request_id: str
    ) -> SendResult:
        """Send one text; every failure comes back classified, never raised."""
        body = {
            "brandname": self.brandname,
            "phone": phone,
            "message": message,
            "request_id": request_id,
            "unicode": 0 if self.unaccented else 1,
        }
        started = time.perf_counter()
        try:
            response = await client.post(
                self.url.rstrip("/") + SEND_PATH,
                content=orjson.dumps(body),
                headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            result = SendResult(SendOutcome.TRANSIENT, "network", reason=f"{type(exc).__name__}: {exc}")
        else:
            result = _classify(response)
        finally:
            metrics.SMS_REQUEST_SECONDS.labels(oa_id).observe(time.perf_counter() - started)
        code_label = result.code if result.code in KNOWN_CODES else "other"
        metrics.SMS_REQUESTS.labels(oa_id, result.outcome.value, code_label).inc()
        return result


def _classify(response: httpx.Response) -> SendResult:
    if response.status_code in (401, 403):
        return SendResult(SendOutcome.CONFIG, str(response.status_code), reason="provider refused the API key")
    if response.status_code >= 500 or response.status_code == 429:
        return SendResult(SendOutcome.TRANSIENT, str(response.status_code), reason=f"HTTP {response.status_code}")
    try:
        body: Any = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return SendResult(SendOutcome.TRANSIENT, "bad_body", reason=f"HTTP {response.status_code}, not JSON")
    if not isinstance(body, dict):
        return SendResult(SendOutcome.TRANSIENT, "bad_body", reason="answer is not a JSON object")
    code = str(body.get("code", "")).strip()
    reason = str(body.get("message", ""))[:200]
    if code == OK and response.status_code == 200:
        return SendResult(SendOutcome.ACCEPTED, OK, message_id=str(body.get("message_id", "")))
    if code in PERMANENT_CODES:
        return SendResult(SendOutcome.PERMANENT, code, reason=reason)
    if code in CONFIG_CODES:
        return SendResult(SendOutcome.CONFIG, code, reason=reason)
    return SendResult(SendOutcome.TRANSIENT, code or str(response.status_code), reason=reason)


@dataclass(frozen=True)
class ProviderRegistry:
    """Which provider texts for which OA."""

    providers: dict[str, SmsProvider] = field(default_factory=dict)
    default: str | None = None

    def for_oa(self, oa_id: str) -> SmsProvider | None:
        """The provider of ``oa_id``, else the default one, else None (that OA has no SMS fallback)."""
        for provider in self.providers.values():
            if oa_id in provider.oa_ids:
                return provider
        return self.providers.get(self.default) if self.default else None


_FIELDS = set(SmsProvider.__dataclass_fields__)
_REQUIRED = {"name", "url", "api_key", "brandname"}


def load_providers(path: Path) -> ProviderRegistry:
    """Read ``HOSO_SMS_CONFIG``, failing clearly on a bad file."""
    raw, items = config_entries(path, "HOSO_SMS_CONFIG", "providers", fields=_FIELDS, required=_REQUIRED)
    providers: dict[str, SmsProvider] = {}
    for i, item in enumerate(items):
        oa_ids = item.get("oa_ids", [])
        if isinstance(oa_ids, str) or not isinstance(oa_ids, list):
            raise ConfigurationError(f"HOSO_SMS_CONFIG {path}: providers[{i}].oa_ids must be a list of OA ids")
        provider = SmsProvider(**{**item, "oa_ids": tuple(str(o) for o in oa_ids)})
        if not str(provider.url).startswith(("http://", "https://")):
            raise ConfigurationError(f"HOSO_SMS_CONFIG {path}: providers[{i}].url must be an http(s) URL")
        if not isinstance(provider.max_chars, int) or provider.max_chars < 70:
            raise ConfigurationError(f"HOSO_SMS_CONFIG {path}: providers[{i}].max_chars must be an integer >= 70")
        if provider.name in providers:
            raise ConfigurationError(f"HOSO_SMS_CONFIG {path}: provider {provider.name!r} declared twice")
        providers[provider.name] = provider
    default = raw.get("default")
    if default is not None and default not in providers:
        raise ConfigurationError(f"HOSO_SMS_CONFIG {path}: default provider {default!r} is not declared")
    return ProviderRegistry(providers=providers, default=default)
