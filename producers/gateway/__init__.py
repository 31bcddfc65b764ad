"""The ingest gateway: agencies that cannot run a Kafka client post dossier events (or the national portal's
sync payloads) over HTTPS with a per-agency API key; accepted items are in Kafka before the reply."""

from producers.gateway.app import create_app
from producers.gateway.server import RunningGateway, run_gateway, start_gateway

__all__ = ["RunningGateway", "create_app", "run_gateway", "start_gateway"]
