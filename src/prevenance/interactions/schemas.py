"""What the interactions API reads and answers (Ninja schemas)."""

from datetime import datetime

from ninja import Field, Schema

from prevenance.core.choices import Channel
from prevenance.customers.schemas import MAX_ID, OrderOut
from prevenance.interactions.choices import Direction, JourneyPhase, Nature


class InteractionIn(Schema):
    channel: Channel
    direction: Direction
    summary: str = Field(..., max_length=10_000)
    nature: Nature = Nature.INFORMATIVE
    phase: JourneyPhase = JourneyPhase.AFTER
    occurred_at: datetime | None = None
    body: str = Field("", max_length=1_000_000)
    order_id: int | None = Field(None, ge=1, le=MAX_ID)
    ref_type: str = Field("", max_length=40)
    ref_id: str = Field("", max_length=64)
    external_id: str | None = Field(None, max_length=100, description="Retries with the same id store nothing twice.")


class InteractionOut(Schema):
    id: int
    channel: str
    direction: str
    nature: str
    phase: str
    occurred_at: datetime
    summary: str
    body: str
    agent_id: int | None
    order_id: int | None
    ref_type: str
    ref_id: str
    external_id: str | None


class InteractionPage(Schema):
    items: list[InteractionOut]
    next_cursor: str | None


class TimelineEntryOut(Schema):
    kind: str = Field(..., description="interaction or order")
    occurred_at: datetime
    interaction: InteractionOut | None = Field(
        None, description="kind interaction: the interaction; kind order: the interaction that recorded that very order "
        "(it names the order, at its instant, on its channel, with no ref_type), if any, which has no entry of its own",
    )
    order: OrderOut | None = None


class TimelinePage(Schema):
    items: list[TimelineEntryOut]
    next_cursor: str | None
