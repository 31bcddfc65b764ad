"""Refuse to run a role against the real Zalo with a demo or placeholder secret.

The demo values make ``make demo`` work with no setup, and the shipped manifests carry ``CHANGE-ME``
placeholders. Either one reaching production is a quiet disaster: a demo pseudonym key is public (every
citizen's pseudonymous id can be recomputed from a phone number, and the key can never be changed once
used), demo webhook keys let anyone forge Zalo calls, demo agency keys let anyone publish dossier events,
and a demo proof key matches no agency's real ``xac_thuc_hash`` (and lets a leaked one be reversed by trying
every six digits).
So a role whose Zalo URLs leave the machine (anything but loopback, where only the simulator listens)
checks its secrets first and stops with one message naming every variable to set. A development stack whose
simulator runs on another host (Compose's dev profile, the k8s dev overlay) says so with HOSO_ZALO_SIMULATED,
which is itself refused next to a URL on Zalo's own domains.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from hoso.errors import ConfigurationError
from hoso.settings import Settings, describe

PLACEHOLDER = "change-me"
"""Marker of the placeholders in deploy/ (matched case-insensitively anywhere in a value)."""

COMMON = ("pseudonym_key", "kafka_sasl_password")
ROLE_SECRETS: dict[str, tuple[str, ...]] = {
    "worker": (*COMMON, "operator_key", "proof_key"),
    "dispatcher": COMMON,
    "gateway": (*COMMON, "proof_key"),
    "webhook": (*COMMON, "zalo_oa_secret_keys", "zalo_app_id"),
}
"""Settings (field names) each role must not run with at their demo default or a placeholder."""

ROLE_FILES: dict[str, tuple[tuple[str, str], ...]] = {
    "dispatcher": (("oa_config", "the demo Official Account"),),
    "worker": (("oa_config", "the demo Official Account"),),
    "gateway": (("gateway_keys_file", "the shipped demo agency API keys"),),
}
"""File settings whose empty value means "use the demo data", with what that demo data is."""


def is_loopback_url(url: str) -> bool:
    """True when ``url`` points at this machine (where the Zalo simulator runs in a demo)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


ZALO_DOMAINS = ("zalo.me", "zaloapp.com")
"""Hosts of the real Zalo APIs: never a simulator, whatever HOSO_ZALO_SIMULATED says."""


def _zalo_urls(settings: Settings) -> tuple[str, str, str]:
    return settings.zalo_zbs_url, settings.zalo_oa_url, settings.zalo_oauth_url


def is_real_zalo_url(url: str) -> bool:
    """True for a URL on Zalo's own domains."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in ZALO_DOMAINS)


def talks_to_real_zalo(settings: Settings) -> bool:
    """Whether any Zalo base URL leaves the machine (a simulator elsewhere counts only when declared)."""
    urls = _zalo_urls(settings)
    if settings.zalo_simulated and not any(is_real_zalo_url(u) for u in urls):
        return False
    return not all(is_loopback_url(u) for u in urls)


def _env_names() -> dict[str, tuple[str, str]]:
    """Field name -> (variable, shown default), from the settings documentation rows."""
    rows = {env: default for env, default, _doc in describe()}
    names = {}
    for field_name in {n for names in ROLE_SECRETS.values() for n in names} | {
        n for files in ROLE_FILES.values() for n, _ in files
    }:
        env = f"HOSO_{field_name.upper()}"
        names[field_name] = (env, rows.get(env, ""))
    return names


def problems(settings: Settings, role: str) -> list[str]:
    """Every demo or placeholder secret ``role`` would run with (empty when none, or when Zalo is loopback)."""
    if not talks_to_real_zalo(settings):
        return []
    names = _env_names()
    found = []
    if settings.zalo_simulated:
        found.append("HOSO_ZALO_SIMULATED is true while a Zalo URL is Zalo's own")
    for field_name in ROLE_SECRETS.get(role, COMMON):
        env, default = names[field_name]
        raw = getattr(settings, field_name)
        value = raw.get_secret_value() if hasattr(raw, "get_secret_value") else str(raw)
        if PLACEHOLDER in value.lower():
            found.append(f"{env} is a placeholder ({value!r})")
        elif value and value == default:
            found.append(f"{env} is the demo value")
    if role == "worker" and settings.streams_web_port and not settings.operator_key.get_secret_value():
        found.append("HOSO_OPERATOR_KEY is empty while the operator lookup API is on (HOSO_STREAMS_WEB_PORT)")
    for field_name, demo in ROLE_FILES.get(role, ()):
        env, _ = names[field_name]
        path = str(getattr(settings, field_name))
        if not path:
            found.append(f"{env} is empty ({demo} would be used)")
        elif Path(path).is_file() and PLACEHOLDER in Path(path).read_text(errors="replace").lower():
            found.append(f"{env} ({path}) still holds CHANGE-ME placeholders")
    return found


def refuse_demo_secrets(settings: Settings, role: str) -> None:
    """Raise ConfigurationError listing every demo secret when ``role`` would talk to the real Zalo."""
    found = problems(settings, role)
    if found:
        raise ConfigurationError(
            f"refusing to start the {role}: the Zalo URLs are not loopback (real Zalo) but "
            + "; ".join(found)
            + ". Set real secrets (deploy/README: secrets), or point HOSO_ZALO_*_URL at a loopback simulator."
        )
