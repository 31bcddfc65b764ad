"""Record contracts between the stages: dossier events, subscriptions, notifications and the topics.

This package imports nothing else from the project, so any stage (and any integrator) can use it.
"""

from schemas.codec import check_event, decode, decode_event, dumps, loads_json, validate
from schemas.dossier_event import DossierEvent, Status
from schemas.notification import Notification, tracking_id_for
from schemas.problems import Problem
from schemas.subscription import Subscription
from schemas.topics import Topics, TopicSpec, catalogue

__all__ = [
    "DossierEvent",
    "Notification",
    "Problem",
    "Status",
    "Subscription",
    "TopicSpec",
    "Topics",
    "catalogue",
    "check_event",
    "decode",
    "decode_event",
    "dumps",
    "loads_json",
    "tracking_id_for",
    "validate",
]
