"""Who an agent's reply will go to, shown above the reply box (docs/inbox.md).

Read with the very functions the sending uses (add_reply picks the channel with
default_reply_channel, queue_delivery addresses the message with message_addressing): the page
cannot name other recipients than the email gets. Kept out of the package's __init__: it reads
through the services, which import selectors themselves.
"""

from dataclasses import dataclass, field

from prevenance.cases.models import Case
from prevenance.cases.services.handling import default_reply_channel
from prevenance.cases.services.outbound import Unreachable, message_addressing
from prevenance.core.choices import Channel


@dataclass(frozen=True)
class ReplyRecipients:
    """The next reply's channel and, when it is emailed, its To, Cc and the mailbox it is sent
    from; `not_sent`: why it will not be emailed (the text its message would then show)."""

    channel: str
    mailbox: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    not_sent: str = ""

    @property
    def by_email(self) -> bool:
        return self.channel == Channel.EMAIL and not self.not_sent


def reply_recipients(case: Case) -> ReplyRecipients:
    channel = default_reply_channel(case)
    addressing = message_addressing(case, channel)
    if isinstance(addressing, Unreachable):
        return ReplyRecipients(channel=channel, not_sent=str(addressing))
    return ReplyRecipients(channel=channel, mailbox=addressing["mailbox"], to=list(addressing["to_addresses"]),
                           cc=list(addressing["cc_addresses"]))
