"""Random-looking message ids that encode the message's position in the log.

A million accepted messages must not cost a million extra strings plus a dict
just to answer ``GET /message/status``.  Instead each id is derived from the
message's sequence number by a keyed bijection, and decoding an id gives the
sequence number back.  ZBS ids are 20 hex digits (like ``a4d0243feee163bd3af2``);
OA message ids are 32 hex digits.  A new key is drawn at every reset, so ids
from before a reset do not resolve afterwards.
"""

from __future__ import annotations

import random

_LOW_BITS = 48
_LOW_MASK = (1 << _LOW_BITS) - 1
_MULT = 0x9E3779B97F4B  # odd, so multiplication mod 2**48 is invertible
_MULT_INV = pow(_MULT, -1, 1 << _LOW_BITS)
_MIX = 0x2545F491


class MessageIdCodec:
    """Turns sequence numbers into opaque hex ids and back."""

    __slots__ = ("_key_hi", "_key_lo", "_oa_prefix")

    def __init__(self, rng: random.Random) -> None:
        self._key_lo = rng.getrandbits(_LOW_BITS)
        self._key_hi = rng.getrandbits(32)
        self._oa_prefix = rng.getrandbits(48)

    def _low(self, seq: int) -> int:
        return (((seq + 1) * _MULT) & _LOW_MASK) ^ self._key_lo

    def _high(self, low: int) -> int:
        return ((low * _MIX) >> 13 ^ self._key_hi) & 0xFFFFFFFF

    def zbs_id(self, seq: int) -> str:
        """20-hex-digit ZBS ``msg_id`` for sequence number ``seq``."""
        low = self._low(seq)
        return f"{self._high(low):08x}{low:012x}"

    def oa_id(self, seq: int) -> str:
        """32-hex-digit OA ``message_id`` for sequence number ``seq``."""
        low = self._low(seq)
        return f"{self._oa_prefix:012x}{self._high(low):08x}{low:012x}"

    def decode(self, message_id: str) -> int | None:
        """Sequence number of an id this codec produced, else None."""
        if not (message_id.isascii() and message_id.isalnum()):
            return None
        if len(message_id) == 32:
            try:
                if int(message_id[:12], 16) != self._oa_prefix:
                    return None
            except ValueError:
                return None
            message_id = message_id[12:]
        if len(message_id) != 20:
            return None
        try:
            high, low = int(message_id[:8], 16), int(message_id[8:], 16)
        except ValueError:
            return None
        if self._high(low) != high:
            return None
        seq = (((low ^ self._key_lo) * _MULT_INV) & _LOW_MASK) - 1
        return seq if seq >= 0 else None
