"""The embedded message broker: kombu's filesystem transport, made safe for a worker that
polls while web processes publish.

Each message is one file in a folder under var/celery/. kombu's own transport opens the
final file name and then writes into it, so a polling worker can pick up an empty or
half-written message; it also moves claimed files to the system temporary folder, which
is a copy (not an atomic rename) when /tmp is another file system. Here a message is
written under a name the worker ignores and renamed into place once complete, and a worker
claims a message by renaming it inside the same folder tree: both are atomic.
"""

import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

_PARTIAL_SUFFIX = ".partial"


class Channel(filesystem.Channel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for folder in (self.data_folder_in, self.data_folder_out, self.claimed_folder, self.control_folder):
            Path(folder).mkdir(parents=True, exist_ok=True)

    @property
    def claimed_folder(self) -> str:
        return self.transport_options.get("claimed_folder") or os.path.join(self.data_folder_in, "claimed")

    def _put(self, queue, payload, **kwargs):
        # Milliseconds first so the worker's sorted listing keeps publishing order.
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + _PARTIAL_SUFFIX
        with open(partial, "wb") as handle:
            handle.write(str_to_bytes(dumps(payload)))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)

    def _get(self, queue):
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(self.claimed_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except FileNotFoundError:
                continue  # another worker claimed it first
            with open(claimed, "rb") as handle:
                payload = handle.read()
            os.remove(claimed)
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
