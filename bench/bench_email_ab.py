"""Email intake of two versions of the code side by side, for ratios on a noisy machine.

    git worktree add /tmp/before <commit>
    .venv/bin/python bench/bench_email_ab.py --against /tmp/before/src
    .venv/bin/python bench/bench_email_ab.py --against /tmp/before/src --rounds 9 --messages 400

This machine's speed drifts by up to half between runs a minute apart, so two runs of
bench_email_intake.py one after the other say little about a change. Here each version runs
in a worker process of its own (this checkout's src, and the `--against` folder first on
the other's path), each on a fresh SQLite file and a temporary var and media folder, and the
rounds alternate between them (who goes first alternates too): both see the same machine.
A round is what bench_email_intake.py measures, in small: `--messages` raw messages through
ingest_email, half first messages from new senders (a new customer and case each, with the
acknowledgement), then their replies threaded by In-Reply-To. The report gives each side's
median rate over the rounds (messages per wall-clock second and per CPU-second of the worker)
and the ratio; the workers count their cases and messages at the end and the script stops if
any is missing.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent


def worker(run: str) -> None:
    """One version's side: Django on the DATABASE_URL the parent set, then the protocol loop."""
    sys.path.insert(0, str(HERE / "helpdesk"))  # protocol.py: the workers' JSON lines
    sys.path.insert(1, str(HERE))
    import django
    from protocol import serve

    subprocess.run([sys.executable, "-m", "prevenance", "migrate", "--noinput", "-v", "0"], check=True)
    django.setup()
    from django.conf import settings

    settings.MEDIA_ROOT = os.environ["AB_MEDIA_ROOT"]  # before the storage is first used
    from bench_email_intake import message

    from prevenance.cases.models import Case, Message
    from prevenance.cases.services import ensure_default_templates, ingest_email
    from prevenance.cases.services.email_intake import Outcome

    ensure_default_templates()

    def email(start: int, count: int) -> None:
        half = count // 2
        numbers = range(start, start + half)
        firsts = [message(sender=f"client{n}.{run}@exemple.fr", name="Claire Martin", message_id=f"first-{n}.{run}@exemple.fr",
                          subject="Commande_n=C2=B0_48213_jamais_re=C3=A7ue", n=n) for n in numbers]
        replies = [message(sender=f"client{n}.{run}@exemple.fr", name="Claire Martin", message_id=f"reply-{n}.{run}@exemple.fr",
                           subject="Re:_Commande_jamais_re=C3=A7ue", n=n, in_reply_to=f"first-{n}.{run}@exemple.fr")
                   for n in numbers]
        for raw, wanted in [*((raw, Outcome.CREATED) for raw in firsts), *((raw, Outcome.APPENDED) for raw in replies)]:
            if (outcome := ingest_email(raw=raw).outcome) != wanted:
                raise SystemExit(f"unexpected outcome {outcome}")

    def finish() -> dict:
        return {"cases": Case.objects.count(), "messages": Message.objects.count(),
                "acknowledged": Case.objects.exclude(acknowledged_at=None).count()}

    serve({"email": email}, finish)


class Worker:
    def __init__(self, name: str, src: Path, run: str, folder: Path):
        self.name = name
        env = dict(os.environ, PYTHONPATH=str(src), DJANGO_SETTINGS_MODULE="prevenance.settings",
                   DATABASE_URL=f"sqlite:///{folder / f'{name}.sqlite3'}", PREVENANCE_VAR_DIR=str(folder / f"{name}-var"),
                   AB_MEDIA_ROOT=str(folder / f"{name}-media"), EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", "--run", run], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env, cwd=folder)
        self.next_item = 0
        if not self._read().get("ready"):
            raise SystemExit(f"the {name} worker did not start")

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the {self.name} worker stopped (see its errors above)")
        return json.loads(line)

    def send(self, payload: dict) -> dict:
        self.proc.stdin.write(json.dumps(payload) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def run(self, count: int) -> dict:
        timing = self.send({"op": "run", "kind": "email", "start": self.next_item, "count": count})
        self.next_item += count
        return timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", type=Path, help="the src folder of the other version")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--messages", type=int, default=400, help="messages a round (half new cases, half replies)")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--run", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.run)
        return
    if args.against is None or not (args.against / "prevenance").is_dir():
        raise SystemExit("--against must be the src folder of another checkout (it holds prevenance/)")
    run = uuid.uuid4().hex[:8]
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-email-ab-", dir=ROOT / "var" / "bench") as tmp:
        folder = Path(tmp)
        workers = {"this": Worker("this", ROOT / "src", run, folder), "against": Worker("against", args.against.resolve(), run, folder)}
        for worker_ in workers.values():
            worker_.run(args.warmup)
        rates: dict[str, list[tuple[float, float]]] = {name: [] for name in workers}
        for round_ in range(args.rounds):
            order = ["this", "against"] if round_ % 2 == 0 else ["against", "this"]
            for name in order:
                timing = workers[name].run(args.messages)
                rates[name].append((args.messages / timing["wall"], args.messages / timing["cpu"]))
                print(f"round {round_ + 1} {name:8} {rates[name][-1][0]:6.0f} messages/s", flush=True)
        counts = {name: worker_.send({"op": "finish"}) for name, worker_ in workers.items()}
    expected = args.warmup + args.rounds * args.messages
    for name, count in counts.items():
        # Every first message, its acknowledgement and its reply, on one acknowledged case each.
        if count["messages"] != expected // 2 * 3 or count["cases"] != expected // 2 or count["acknowledged"] != expected // 2:
            raise SystemExit(f"{name}: expected {expected // 2} acknowledged cases of 3 messages each, found {count}")
    wall = {name: statistics.median(r for r, _c in values) for name, values in rates.items()}
    cpu = {name: statistics.median(c for _r, c in values) for name, values in rates.items()}
    print(f"\n{args.rounds} rounds of {args.messages} messages, median (load average {os.getloadavg()[0]:.1f}):")
    for name in workers:
        print(f"  {name:8} {wall[name]:6.0f} messages/s  {cpu[name]:6.0f} per CPU-second")
    print(f"  ratio this/against: {wall['this'] / wall['against']:.2f} (wall clock), {cpu['this'] / cpu['against']:.2f} (CPU)")


if __name__ == "__main__":
    main()
