"""The few lines both benchmark workers share (each runs in its own virtual environment).

The parent (bench/bench_helpdesk.py) writes one JSON command a line on the worker's stdin:
{"op": "run", "kind": "...", "start": n, "count": k} creates items n .. n+k-1 and answers
the wall-clock and CPU seconds it took; {"op": "finish"} answers what the worker counts in
its database, then the worker exits. Answers go out on the original stdout only: anything
a library prints goes to stderr, so it cannot break the protocol.
"""

import gc
import json
import os
import sys
import time
from collections.abc import Callable

BODY = (
    "Bonjour,\r\n\r\nJ'ai commandé le 12 novembre une lampe de bureau (commande n° {n}) et je n'ai "
    "toujours rien reçu.\r\nLe suivi indique « en cours d'acheminement » depuis dix jours.\r\n"
    "Pouvez-vous me dire où en est ma commande ?\r\n\r\nMerci d'avance,\r\nClaire\r\n"
)
SUBJECT = "Commande n° {n} jamais reçue"
SUBJECT_RFC2047 = "=?UTF-8?Q?Commande_n=C2=B0_{n}_jamais_re=C3=A7ue?="
MAILBOX = "service.client@boutique-lumiere.example"


def sender(n: int, run: str) -> tuple[str, str]:
    """A new person for every item: (address, display name)."""
    return f"client{n}.{run}@exemple.fr", "Claire Martin"


def raw_message(n: int, run: str) -> bytes:
    """A first message from a new sender, the same bytes for both systems."""
    address, name = sender(n, run)
    return (
        f"Return-Path: <{address}>\r\nFrom: {name} <{address}>\r\nTo: Service client <{MAILBOX}>\r\n"
        f"Subject: {SUBJECT_RFC2047.format(n=n)}\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
        f"Message-ID: <first-{n}.{run}@exemple.fr>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + BODY.format(n=n)
    ).encode()


def serve(actions: dict[str, Callable[[int, int], None]], finish: Callable[[], dict]) -> None:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr

    def answer(payload: dict) -> None:
        out.write(json.dumps(payload) + "\n")
        out.flush()

    answer({"ready": True})
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "finish":
            answer(finish())
            return
        action = actions[command["kind"]]
        gc.collect()  # the same clean start for every round, in both systems
        wall, cpu = time.perf_counter(), time.process_time()
        action(command["start"], command["count"])
        answer({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu})
