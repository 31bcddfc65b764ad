"""A brandname-SMS provider simulator: the stand-in for the carrier API the SMS fallback texts through.

It imports nothing from hoso (it plays an external service). ``start`` runs it in-process for tests,
``serve`` as a process (``hoso sms-simulator`` or ``python -m sms_simulator``).
"""

from sms_simulator.app import SmsSimConfig, SmsSimState, create_app
from sms_simulator.server import RunningSmsSimulator, serve, start

__all__ = ["RunningSmsSimulator", "SmsSimConfig", "SmsSimState", "create_app", "serve", "start"]
