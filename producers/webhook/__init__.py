"""The Zalo webhook receiver: signed Zalo events in, ``zalo-events.v1`` records out."""

from producers.webhook.server import PATH, WebhookReceiver, run_webhook
from producers.webhook.signature import SignatureConfig, sign, verify

__all__ = ["PATH", "SignatureConfig", "WebhookReceiver", "run_webhook", "sign", "verify"]
