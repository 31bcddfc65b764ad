"""A Zalo API simulator that behaves like the real API on the wire.

Zalo cannot be reached from development and CI, yet the notification pipeline
must be proven against Zalo's behaviour: errors with HTTP 200, single-use
refresh tokens, quotas, the night ban, signed delivery receipts, and the faults
that cause duplicates.  The simulator serves the same paths as
business.openapi.zalo.me, openapi.zalo.me and oauth.zaloapp.com, so production
differs only in base URLs.  Configuration is a ``SimulatorConfig`` dataclass;
nothing is read from the environment.
"""

from zalo_simulator.app import create_app
from zalo_simulator.config import DEMO_OA, OAConfig, SimulatorConfig, load_config
from zalo_simulator.faults import FaultSpec
from zalo_simulator.magic import MAGIC_HASH_PHONES, MAGIC_NUMBERS, MAGIC_USER_IDS
from zalo_simulator.receipts import receipt_signature
from zalo_simulator.server import RunningSimulator, serve, start

__all__ = [
    "DEMO_OA",
    "MAGIC_HASH_PHONES",
    "MAGIC_NUMBERS",
    "MAGIC_USER_IDS",
    "FaultSpec",
    "OAConfig",
    "RunningSimulator",
    "SimulatorConfig",
    "create_app",
    "load_config",
    "receipt_signature",
    "serve",
    "start",
]
