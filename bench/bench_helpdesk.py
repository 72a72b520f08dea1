"""Case creation side by side with django-helpdesk, on SQLite, same machine, same run.

    .venv/bin/python bench/bench_helpdesk.py                    # 5 rounds of 1,000 items each way
    .venv/bin/python bench/bench_helpdesk.py --rounds 7 --items 2000
    .venv/bin/python bench/bench_helpdesk.py --profile 2000     # and where open_case's time goes

django-helpdesk is installed from PyPI into its own virtual environment
(var/bench/helpdesk-venv, created on the first run) and runs in the smallest Django project
it needs (bench/helpdesk/settings.py, the same SQLite options as Prévenance). Each system
gets a fresh SQLite file and a worker process of its own; the rounds alternate between them
(who goes first alternates too), so both see the same machine load. Every item is a first
message from a new person. Three comparisons:

- "create": helpdesk's Ticket.objects.create + its first FollowUp (the least any of its
  intakes writes) against Prévenance's open_case service (find or create the customer from the
  email identity, the case with its reference, the SLA due times from a policy on a business
  calendar, the first message, the interaction on the customer's timeline, one transaction);
- "form": each system's public web form without the HTTP, as its view runs it: the form's
  validation then its service. helpdesk's PublicTicketForm.save (the ticket, its follow-up,
  the acknowledgement email to the submitter rendered and sent to memory, backlinks, the
  signal) against Prévenance's ContactForm and submit_contact_form (everything open_case
  does, the acknowledgement stored in the outbox for the worker to send);
- "email": the raw RFC 822 message through each system's own email intake: helpdesk's
  extract_email_metadata (what its mail poller calls; it also sends its acknowledgement email,
  to memory here) against Prévenance's ingest_email (which also keeps the raw message through
  Django's storage, in a temporary folder).
Rates are items a second of wall-clock time (median of the rounds) and per CPU-second of
the worker; the ratio is Prévenance's rate over helpdesk's. The workers count what they wrote
at the end and the script stops if anything is missing.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
PEER = HERE / "helpdesk"
VENV = ROOT / "var" / "bench" / "helpdesk-venv"
PEER_VERSION = "2.6.1"
PAIRS = [("create", "models", "service"), ("form", "form", "form"), ("email", "email", "email")]


# -- Prévenance's worker (this file run with --worker) -----------------------------------------


def prevenance_worker(run: str, profile: int) -> None:
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(PEER))
    from benchdb import django_on

    with django_on(None, "helpdesk-side"), tempfile.TemporaryDirectory(prefix="bench-helpdesk-media-") as media:
        from django.conf import settings

        settings.MEDIA_ROOT = media  # before the storage is first used: ingest_email keeps the raw message
        serve_prevenance(run, profile)


def sla_setup() -> None:
    """What a real installation has: a business calendar (weekdays 9:00-12:30 and 13:30-18:00)
    and an SLA policy, so open_case computes due times in business hours."""
    from datetime import time, timedelta

    from prevenance.cases.models import SLAPolicy
    from prevenance.core.models import BusinessCalendar, OpeningPeriod

    calendar = BusinessCalendar.objects.create(name="Service client", time_zone="Europe/Paris")
    for weekday in range(5):
        OpeningPeriod.objects.create(calendar=calendar, weekday=weekday, start_time=time(9), end_time=time(12, 30))
        OpeningPeriod.objects.create(calendar=calendar, weekday=weekday, start_time=time(13, 30), end_time=time(18))
    SLAPolicy.objects.create(name="Standard", first_response_target=timedelta(hours=8), resolution_target=timedelta(hours=40),
                             calendar=calendar)


def serve_prevenance(run: str, profile: int) -> None:
    from protocol import BODY, SUBJECT, raw_message, sender, serve

    from prevenance.cases.forms import ContactForm
    from prevenance.cases.models import Case, Message
    from prevenance.cases.services import ensure_default_templates, ingest_email, open_case
    from prevenance.cases.services.email_intake import Outcome
    from prevenance.cases.services.web_form import submit_contact_form
    from prevenance.customers.models import Customer
    from prevenance.customers.services import IdentityInput
    from prevenance.interactions.models import Interaction

    sla_setup()
    ensure_default_templates()  # what `prevenance bootstrap` installs: the acknowledgement among them

    def create(start: int, count: int) -> None:
        for n in range(start, start + count):
            address, name = sender(n, run)
            open_case(
                identities=[IdentityInput(kind="email", value=address)], hints={"first_name": "Claire", "last_name": "Martin"},
                channel="email", subject=SUBJECT.format(n=n), body=BODY.format(n=n), sender_address=address, sender_name=name,
                message_id=f"first-{n}.{run}@exemple.fr",
            )

    def from_form(start: int, count: int) -> None:
        for n in range(start, start + count):
            address, _name = sender(n, run)
            form = ContactForm(data={
                "first_name": "Claire", "last_name": "Martin", "email": address, "type": "question",
                "subject": SUBJECT.format(n=n), "body": BODY.format(n=n), "submission_id": uuid.uuid4().hex,
            })
            if not form.is_valid():
                raise SystemExit(f"Prévenance refused form {n}: {form.errors.as_json()}")
            data = form.cleaned_data
            submit_contact_form(
                submission_id=data["submission_id"], first_name=data["first_name"], last_name=data["last_name"],
                email=data["email"], phone=data["phone"], type=data["type"], subject=data["subject"], body=data["body"],
                order_reference=data["order"], files=data["attachments"] or (), language="fr",
            )

    def from_email(start: int, count: int) -> None:
        for n in range(start, start + count):
            if ingest_email(raw=raw_message(n, run)).outcome != Outcome.CREATED:
                raise SystemExit(f"Prévenance opened no case for message {n}")

    def finish() -> dict:
        return {
            "items": Case.objects.count(), "messages": Message.objects.count(), "customers": Customer.objects.count(),
            "interactions": Interaction.objects.count(), "with_due_times": Case.objects.exclude(resolution_due_at=None).count(),
            "acknowledged": Case.objects.exclude(acknowledged_at=None).count(),
        }

    if profile:
        profile_open_case(create, profile)
    serve({"service": create, "form": from_form, "email": from_email}, finish)


# Where open_case's time goes, stage by stage: (module, name) wrapped with a timer. Indented
# labels are parts of the stage above them (counted there too).
STAGES = [
    ("prevenance.cases.services.intake", "_clean_message", "cleaning the input"),
    ("prevenance.cases.services.intake", "_deduplicated", "Message-ID look-up"),
    ("prevenance.cases.services.intake", "resolve_customer", "resolve_customer"),
    ("prevenance.cases.services.intake", "_locked_customer", "the customer's lock"),
    ("prevenance.cases.services.intake", "triage", "routing and priority (triage)"),
    ("prevenance.cases.services.routing", "score_case", "  priority score"),
    ("prevenance.cases.services.intake", "set_due_times", "SLA due times (set_due_times)"),
    ("prevenance.cases.services.intake", "insert_case", "the case's reference and INSERT (insert_case)"),
    ("prevenance.cases.services.intake", "record_routing", "routing audit row"),
    ("prevenance.cases.services.intake", "add_thread_entry", "first message + timeline (add_thread_entry)"),
    ("prevenance.cases.services.common", "_timeline_entry", "  timeline interactions (both messages)"),
    ("prevenance.cases.services.intake", "plan_acknowledgement", "acknowledgement: template, addressing (plan)"),
    ("prevenance.cases.services.intake", "send_acknowledgement", "acknowledgement: rendered, stored, in the outbox"),
    ("prevenance.cases.events", "case_created", "webhook event (case_created)"),
    ("prevenance.core.queue", "_send", "after commit: publish to the broker (webhooks only)"),
]


def time_stages(create, count: int) -> None:
    """Wall time of each stage of open_case over `count` calls, without a profiler's overhead."""
    import importlib

    totals: dict[str, float] = {}
    missing = []

    def timed(original, label):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[label] = totals.get(label, 0.0) + time.perf_counter() - started
        return wrapper

    originals = []
    for module_name, name, label in STAGES:
        module = importlib.import_module(module_name)
        if not hasattr(module, name):
            missing.append(f"{module_name}.{name}")
            continue
        originals.append((module, name, getattr(module, name)))
        setattr(module, name, timed(getattr(module, name), label))
    try:
        started = time.perf_counter()
        create(20_000_000, count)
        total = time.perf_counter() - started
    finally:
        for module, name, original in originals:
            setattr(module, name, original)
    print(f"open_case stage by stage, {count} calls, {total / count * 1000:.2f} ms a case (wall clock):", file=sys.stderr)
    for _module, _name, label in STAGES:
        if label in totals:
            print(f"  {label:48} {totals[label] / count * 1000:6.2f} ms  {totals[label] / total:5.1%}", file=sys.stderr)
    counted = sum(v for (_m, _n, label), v in ((s, totals.get(s[2], 0.0)) for s in STAGES) if not label.startswith(" "))
    print(f"  {'the rest (transaction, commit, glue)':48} {(total - counted) / count * 1000:6.2f} ms  {(total - counted) / total:5.1%}",
          file=sys.stderr)
    if missing:
        print(f"  not found (the code changed): {', '.join(missing)}", file=sys.stderr)


def profile_open_case(create, count: int) -> None:
    """The SQL of one open_case, then `count` more timed stage by stage, then `count` more under
    cProfile (after a warm-up); all on stderr."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    create(10_000_000, 50)
    with CaptureQueriesContext(connection) as queries:
        create(10_000_050, 1)
    time_stages(create, count)
    print(f"one open_case: {len(queries)} SQL statements", file=sys.stderr)
    for query in queries:
        print(f"  {query['time']} {query['sql'][:160]}", file=sys.stderr)
    profiler = cProfile.Profile()
    profiler.runcall(create, 10_000_051, count)
    stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative")
    stats.print_stats(45)
    stats.sort_stats("tottime").print_stats(25)


# -- the parent ------------------------------------------------------------------------------


def ensure_peer() -> Path:
    python = VENV / "bin" / "python"
    check = [str(python), "-c", "import helpdesk, sys; from importlib.metadata import version; print(version('django-helpdesk'))"]
    if python.exists() and subprocess.run(check, capture_output=True, text=True).stdout.strip() == PEER_VERSION:
        return python
    print(f"installing django-helpdesk {PEER_VERSION} into {VENV} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"django-helpdesk=={PEER_VERSION}"], check=True)
    return python


class Worker:
    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        self.next_item = 0
        ready = self._read()
        if not ready.get("ready"):
            raise SystemExit(f"{name} worker did not start: {ready}")

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the {self.name} worker stopped (see its errors above)")
        return json.loads(line)

    def run(self, kind: str, count: int) -> dict:
        self.proc.stdin.write(json.dumps({"op": "run", "kind": kind, "start": self.next_item, "count": count}) + "\n")
        self.proc.stdin.flush()
        self.next_item += count
        return self._read()

    def finish(self) -> dict:
        self.proc.stdin.write(json.dumps({"op": "finish"}) + "\n")
        self.proc.stdin.flush()
        counts = self._read()
        self.proc.wait(timeout=60)
        return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--items", type=int, default=1_000, help="items a round, for each system and comparison")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="first profile N open_case calls (stderr)")
    parser.add_argument("--worker", choices=["prevenance"], help=argparse.SUPPRESS)
    parser.add_argument("--run", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        prevenance_worker(args.run, args.profile)
        return

    python = ensure_peer()
    run = uuid.uuid4().hex[:8]
    folder = Path(tempfile.mkdtemp(prefix="bench-helpdesk-", dir=ROOT / "var" / "bench"))
    try:
        peer_env = dict(os.environ, HELPDESK_BENCH_DB=str(folder / "helpdesk.sqlite3"), HELPDESK_BENCH_MEDIA=str(folder / "media"))
        peer_env.pop("DJANGO_SETTINGS_MODULE", None)
        # Prévenance queues its acknowledgements (Celery's folder broker under the var dir): a
        # throwaway var dir keeps those task files out of the real queue; mail stays in memory.
        own_env = dict(os.environ, PREVENANCE_VAR_DIR=str(folder / "prevenance-var"),
                       EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
        workers = {
            "helpdesk": Worker("helpdesk", [str(python), str(PEER / "peer_worker.py"), run], peer_env),
            "prevenance": Worker("prevenance", [sys.executable, __file__, "--worker", "prevenance", "--run", run,
                                                "--profile", str(args.profile)], own_env),
        }
        results = compare(workers, args)
        counts = {name: worker.finish() for name, worker in workers.items()}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    expected = (args.warmup + args.rounds * args.items) * len(PAIRS)
    report(results, counts, expected, args)


def compare(workers: dict[str, Worker], args) -> dict[tuple[str, str], list[dict]]:
    results: dict[tuple[str, str], list[dict]] = {}
    for label, peer_kind, own_kind in PAIRS:
        kinds = {"helpdesk": peer_kind, "prevenance": own_kind}
        for name, worker in workers.items():
            worker.run(kinds[name], args.warmup)  # imports, caches, templates, the connection
        for round_ in range(args.rounds):
            order = ["helpdesk", "prevenance"] if round_ % 2 == 0 else ["prevenance", "helpdesk"]
            for name in order:
                timing = workers[name].run(kinds[name], args.items)
                results.setdefault((label, name), []).append(timing)
                print(f"{label:6} round {round_ + 1} {name:10} {args.items / timing['wall']:8,.0f} items/s", flush=True)
    return results


def report(results, counts: dict[str, dict], expected: int, args) -> None:
    print(f"\nwritten: helpdesk {counts['helpdesk']}\n         prevenance {counts['prevenance']}")
    problems = [name for name, c in counts.items() if c["items"] != expected]
    if counts["prevenance"]["with_due_times"] != expected:
        problems.append("prevenance cases without SLA due times")
    if problems:
        raise SystemExit(f"expected {expected} items each; wrong: {', '.join(problems)}")
    print(f"\n{args.rounds} rounds of {args.items} items; median of the rounds (min-max), load average {os.getloadavg()[0]:.1f}")
    print(f"{'comparison':10} {'helpdesk/s':>22} {'prevenance/s':>22} {'ratio':>6} "
          f"{'per CPU-s: helpdesk':>20} {'prevenance':>11} {'ratio':>6}")
    for label, _peer, _own in PAIRS:
        rates = {name: [args.items / t["wall"] for t in results[(label, name)]] for name in ("helpdesk", "prevenance")}
        cpu = {name: statistics.median(args.items / t["cpu"] for t in results[(label, name)]) for name in rates}
        median = {name: statistics.median(values) for name, values in rates.items()}
        spread = {name: f"{median[name]:,.0f} ({min(v):,.0f}-{max(v):,.0f})" for name, v in rates.items()}
        print(f"{label:10} {spread['helpdesk']:>22} {spread['prevenance']:>22} {median['prevenance'] / median['helpdesk']:6.2f} "
              f"{cpu['helpdesk']:20,.0f} {cpu['prevenance']:11,.0f} {cpu['prevenance'] / cpu['helpdesk']:6.2f}")


if __name__ == "__main__":
    main()
