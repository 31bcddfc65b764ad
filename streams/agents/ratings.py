"""Agent keeping the survey invitations sent as ZBS templates, by tracking id, for their rating callbacks.

Zalo's rating callback names only the message; the chat agent reads the invitation from this table on the
partition where the callback arrives (``zalo-events.v1`` keys ZNS events by tracking id, and so does
``rating-invites.v1``: both co-partitioned with the table's changelog).
"""

from __future__ import annotations

import faust

from schemas import codec
from schemas.problems import Problem
from schemas.rating import RatingInvite
from schemas.topics import RATING_INVITES_TABLE
from streams import guard
from streams.context import StreamsApp


def register(ctx: StreamsApp) -> None:
    """Attach the invitation-keeping agent to ``ctx.app``."""
    invites = ctx.topic(ctx.topics.rating_invites.name, ctx.settings.partitions)
    ctx.table(RATING_INVITES_TABLE)

    @ctx.app.agent(invites, name="rating_invites")
    async def rating_invites(stream: faust.StreamT) -> None:
        """Store each invitation under its tracking id (a re-sent one overwrites itself with the same facts)."""
        async for batch in ctx.pipeline.batches(stream):
            for record in batch:
                raw = record.value or b""
                invite, problems = codec.decode(RatingInvite, raw)
                if invite is None or record.key != invite.tracking_id.encode():
                    guard.park(ctx, batch, record, problems or [Problem("key", "must be the tracking id")])
                    continue
                batch.put(record, RATING_INVITES_TABLE, record.key, raw)

    ctx.agents["rating_invites"] = rating_invites
