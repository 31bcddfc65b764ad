"""OA OAuth v4 token lifecycle: expiry, single-use refresh tokens, rotation.

The hardest production bugs around Zalo tokens come from rotation: every refresh
returns a new pair, the old refresh token can never be used again (-14020) and
the old access token stops working at once.  A client that refreshes twice in
parallel, or loses the response of a successful refresh, locks itself out.  The
store reproduces exactly that so those bugs show up in tests.

Access-token lifetime is read at check time (``ttl()``), so changing
``token_ttl`` in the fault spec at run time affects tokens already issued.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from zalo_simulator.clock import SimClock
from zalo_simulator.config import OAConfig
from zalo_simulator.errors import ZaloError

CODE_TTL_S = 600.0
"""Authorization codes are valid for 10 minutes and one use."""


class TokenStatus(IntEnum):
    """Outcome of checking an access token."""

    VALID = 0
    UNKNOWN = 1
    EXPIRED = 2
    REVOKED = 3
    """Replaced by a refresh: the token was real but has been rotated out."""


@dataclass(slots=True)
class OAState:
    """Live credentials and counters of one OA."""

    config: OAConfig
    access_token: str
    access_issued_at: float
    refresh_token: str
    refresh_issued_at: float
    refreshes: int = 0
    code_grants: int = 0


@dataclass(slots=True)
class _Code:
    oa: OAState
    expires_at: float
    code_challenge: str | None


class OAuthFailure(Exception):
    """A token call failed with an OAuth error code."""

    def __init__(self, code: ZaloError, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class TokenStore:
    """Issues, checks and rotates tokens for every configured OA."""

    def __init__(
        self,
        oas: list[OAConfig],
        clock: SimClock,
        access_ttl: Callable[[], float],
        refresh_ttl_s: float,
        rng: random.Random,
    ) -> None:
        self._oa_configs = list(oas)
        self._clock = clock
        self.ttl = access_ttl
        self._refresh_ttl_s = refresh_ttl_s
        self._rng = rng
        self.reset()

    def reset(self) -> None:
        """Return every OA to the tokens in its config, freshly issued now."""
        now = self._clock.now()
        self.oas: dict[str, OAState] = {
            c.oa_id: OAState(c, c.access_token, now, c.refresh_token, now) for c in self._oa_configs
        }
        self._by_app = {st.config.app_id: st for st in self.oas.values()}
        self._by_access = {st.access_token: st for st in self.oas.values()}
        self._by_refresh = {st.refresh_token: st for st in self.oas.values()}
        self._revoked_access: set[str] = set()
        self._used_refresh: set[str] = set()
        self._codes: dict[str, _Code] = {}
        self._used_codes: set[str] = set()

    # -- hot path ---------------------------------------------------------------

    def check(self, token: str | None) -> tuple[OAState | None, TokenStatus]:
        """Resolve an ``access_token`` header to its OA, or say why it is not usable."""
        if not token:
            return None, TokenStatus.UNKNOWN
        state = self._by_access.get(token)
        if state is None:
            if token in self._revoked_access:
                return None, TokenStatus.REVOKED
            return None, TokenStatus.UNKNOWN
        if self._clock.now() - state.access_issued_at >= self.ttl():
            return None, TokenStatus.EXPIRED
        return state, TokenStatus.VALID

    # -- token endpoint ---------------------------------------------------------

    def refresh(self, app_id: str | None, secret_key: str | None, refresh_token: str | None) -> dict[str, Any]:
        """Rotate an OA's tokens (grant_type=refresh_token); raises OAuthFailure."""
        state = self._authenticate_app(app_id, secret_key)
        if not refresh_token:
            raise OAuthFailure(ZaloError.OAUTH_INVALID_REFRESH_TOKEN, "refresh_token is missing")
        owner = self._by_refresh.get(refresh_token)
        if owner is None:
            if refresh_token in self._used_refresh:
                raise OAuthFailure(ZaloError.OAUTH_REFRESH_TOKEN_USED_OR_EXPIRED, "refresh token was already used")
            raise OAuthFailure(ZaloError.OAUTH_INVALID_REFRESH_TOKEN, "unknown refresh token")
        if owner is not state:
            raise OAuthFailure(ZaloError.OAUTH_INVALID_REFRESH_TOKEN, "refresh token belongs to another app")
        if self._clock.now() - state.refresh_issued_at >= self._refresh_ttl_s:
            raise OAuthFailure(ZaloError.OAUTH_REFRESH_TOKEN_USED_OR_EXPIRED, "refresh token has expired")
        state.refreshes += 1
        return self._rotate(state)

    def issue_code(self, oa_id: str, code_challenge: str | None = None) -> str:
        """Simulate an OA admin's consent: return a one-use authorization code."""
        state = self.oas.get(oa_id)
        if state is None:
            raise KeyError(oa_id)
        code = f"sim-code-{self._rng.getrandbits(128):032x}"
        self._codes[code] = _Code(state, self._clock.now() + CODE_TTL_S, code_challenge)
        return code

    def exchange_code(
        self, app_id: str | None, secret_key: str | None, code: str | None, code_verifier: str | None
    ) -> dict[str, Any]:
        """grant_type=authorization_code: trade a code for a fresh token pair."""
        state = self._authenticate_app(app_id, secret_key)
        if not code:
            raise OAuthFailure(ZaloError.OAUTH_INVALID_PARAM, "code is missing")
        entry = self._codes.pop(code, None)
        if entry is None:
            if code in self._used_codes:
                raise OAuthFailure(ZaloError.OAUTH_REFRESH_TOKEN_USED_OR_EXPIRED, "code was already used")
            raise OAuthFailure(ZaloError.OAUTH_INVALID_REFRESH_TOKEN, "unknown code")
        self._used_codes.add(code)
        if entry.oa is not state:
            raise OAuthFailure(ZaloError.OAUTH_INVALID_REFRESH_TOKEN, "code was issued to another app")
        if self._clock.now() >= entry.expires_at:
            raise OAuthFailure(ZaloError.OAUTH_REFRESH_TOKEN_USED_OR_EXPIRED, "code has expired")
        if entry.code_challenge is not None and _s256(code_verifier or "") != entry.code_challenge:
            raise OAuthFailure(ZaloError.OAUTH_INVALID_PARAM, "code_verifier does not match code_challenge")
        state.code_grants += 1
        return self._rotate(state)

    # -- control ----------------------------------------------------------------

    def expire_access_token(self, oa_id: str) -> None:
        """Make an OA's current access token expired now (to test refresh paths)."""
        self.oas[oa_id].access_issued_at = float("-inf")

    def refresh_counts(self) -> dict[str, int]:
        """Successful refreshes per OA id."""
        return {oa_id: st.refreshes for oa_id, st in self.oas.items()}

    def describe(self) -> dict[str, Any]:
        """Current credentials and ages, for /_sim/tokens."""
        now = self._clock.now()
        ttl = self.ttl()
        return {
            oa_id: {
                "app_id": st.config.app_id,
                "access_token": st.access_token,
                "refresh_token": st.refresh_token,
                "access_expires_in_s": max(0.0, st.access_issued_at + ttl - now),
                "refresh_expires_in_s": max(0.0, st.refresh_issued_at + self._refresh_ttl_s - now),
                "refreshes": st.refreshes,
                "code_grants": st.code_grants,
            }
            for oa_id, st in self.oas.items()
        }

    # -- internals --------------------------------------------------------------

    def _authenticate_app(self, app_id: str | None, secret_key: str | None) -> OAState:
        state = self._by_app.get(app_id or "")
        if state is None:
            raise OAuthFailure(ZaloError.OAUTH_INVALID_APP, "unknown app_id")
        if secret_key != state.config.secret_key:
            raise OAuthFailure(ZaloError.OAUTH_WRONG_SECRET, "secret_key header does not match the app")
        return state

    def _rotate(self, state: OAState) -> dict[str, Any]:
        del self._by_access[state.access_token]
        self._revoked_access.add(state.access_token)
        del self._by_refresh[state.refresh_token]
        self._used_refresh.add(state.refresh_token)
        now = self._clock.now()
        state.access_token = f"sim-at-{self._rng.getrandbits(192):048x}"
        state.refresh_token = f"sim-rt-{self._rng.getrandbits(192):048x}"
        state.access_issued_at = state.refresh_issued_at = now
        self._by_access[state.access_token] = state
        self._by_refresh[state.refresh_token] = state
        return {
            "access_token": state.access_token,
            "refresh_token": state.refresh_token,
            "expires_in": str(int(self.ttl())),
        }


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
