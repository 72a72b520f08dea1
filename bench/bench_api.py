"""API case creation over HTTP: POST /api/v1/cases from concurrent clients against gunicorn.

    .venv/bin/python bench/bench_api.py                       # PostgreSQL, a fresh database prevenance_bench_api
    .venv/bin/python bench/bench_api.py --clients 32 --seconds 30 --workers 5
    .venv/bin/python bench/bench_api.py --database-url postgres://postgres@127.0.0.1:5432/other --keep
    .venv/bin/python bench/bench_api.py --floor               # open_case stubbed: what is left without a case

The database named in --database-url is dropped and created again (it must be PostgreSQL,
and its name must contain "bench"), then migrated. The server is `gunicorn prevenance.wsgi`
(what `prevenance serve` runs), in its own processes with its own var folder (so the
acknowledgement emails it queues land in a private broker folder, not the project's). The
clients are threads of this process, each on its own keep-alive connection: every request
opens a case for a new customer (a new email address), with an `Idempotency-Key`, as an
integrating system would send it. After a warm-up, requests run for --seconds; latencies are
measured from sending the request to reading the whole response.

Then it checks: no error, and the database holds exactly one case per successful answer
(counted by the run's tag in the subject, with distinct references); a sample of requests
is sent again with the same Idempotency-Key and must be answered from the stored response
without opening a case.

With --floor, each worker answers with a case it stored once instead of opening one
(bench/floor_gunicorn.py): the same requests, clients and server, so the run shows what
the HTTP server, Django, the middleware, the Idempotency-Key and Ninja cost on their own.
"""

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/prevenance_bench_api"


def recreate_database(url: str) -> None:
    import psycopg  # noqa: PLC0415 - only this script needs it at the top level

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in ("postgres", "postgresql") or "bench" not in name:
        raise SystemExit("--database-url must be a PostgreSQL database whose name contains 'bench' (it is dropped first)")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "-m", "prevenance", "migrate", "--noinput", "-v", "0"],
                   env=dict(os.environ, DATABASE_URL=url), check=True, cwd=ROOT)


def make_key(url: str) -> str:
    """What `prevenance bootstrap` sets up without the demo (the default templates, so every
    case gets its acknowledgement), then an agent and an API key (printed by a child process)."""
    code = (
        "import django; django.setup()\n"
        "from django.contrib.auth.models import Group, User\n"
        "from prevenance.api.services import create_api_key\n"
        "from prevenance.cases.services import ensure_default_templates\n"
        "ensure_default_templates()\n"
        "user = User.objects.create_user('bench-agent', password='x')\n"
        "user.groups.add(Group.objects.get(name='agent'))\n"
        "print(create_api_key(user=user, name='bench')[1])\n"
    )
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="prevenance.settings")
    return subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True, cwd=ROOT).stdout.strip()


def start_server(url: str, port: int, workers: int, threads: int, var_dir: Path, numbers: str,
                 floor: bool = False) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, PREVENANCE_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="prevenance.settings",
               PREVENANCE_CASE_NUMBERS=numbers)
    command = [sys.executable, "-m", "gunicorn", "prevenance.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--backlog", "2048", "--log-level", "warning"]
    if floor:
        command += ["--config", str(ROOT / "bench" / "floor_gunicorn.py")]
    if threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "30"]
    server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                conn.close()
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


class Client(threading.Thread):
    """One integrating system: POSTs a new case after the other on one keep-alive connection.

    It speaks HTTP/1.1 over a plain socket rather than through http.client: the clients share
    the server's two cores, and http.client's header parsing (the email package) cost about
    0.4 ms of CPU a request, a twentieth of the server's own work, taken from the server.
    """

    def __init__(self, n: int, port: int, key: str, tag: str, until: threading.Event, measure_from: list[float]):
        super().__init__(daemon=True)
        self.n, self.port, self.key, self.tag = n, port, key, tag
        self.until, self.measure_from = until, measure_from
        self.results: list[tuple[float, float, int]] = []  # (sent at, seconds, status)
        self.sent: list[tuple[str, bytes, str]] = []  # (idempotency key, body, case reference) of measured successes
        self.created_total = 0  # every 201, warm-up included: the rows the database must hold
        self.sock: socket.socket | None = None
        self.buffer = b""

    def request(self, body: bytes, key: str) -> tuple[int, bytes]:
        head = (
            f"POST /api/v1/cases HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAuthorization: Bearer {self.key}\r\n"
            f"Content-Type: application/json\r\nIdempotency-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        for attempt in range(2):
            try:
                if self.sock is None:
                    self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
                    self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self.buffer = b""
                self.sock.sendall(head + body)
                return self.read_response()
            except OSError:
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def read_response(self) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self.receive()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
        if "content-length" not in headers:
            raise OSError(f"answer without Content-Length: {headers}")
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            self.receive()
        data, self.buffer = self.buffer[:length], self.buffer[length:]
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, data

    def receive(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise OSError("connection closed by the server")
        self.buffer += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def run(self) -> None:
        i = 0
        while not self.until.is_set():
            i += 1
            key = str(uuid.uuid4())
            body = json.dumps({
                "email": f"bench.{self.tag}.{self.n}.{i}@example.org",
                "customer": {"first_name": "Claire", "last_name": f"Client{self.n}x{i}", "language": "fr"},
                "subject": f"Colis abîmé {self.tag} {self.n}-{i}",
                "body": "Bonjour, mon colis est arrivé abîmé : la lampe est cassée. Pouvez-vous me la remplacer ? Merci, Claire",
                "type": "complaint",
            }).encode()
            started = time.perf_counter()
            try:
                status, data = self.request(body, key)
            except OSError:
                status, data = 0, b""
            elapsed = time.perf_counter() - started
            self.created_total += status == 201
            if started >= self.measure_from[0]:
                self.results.append((started, elapsed, status))
                if status == 201:
                    self.sent.append((key, body, json.loads(data)["reference"]))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(args) -> dict:
    tag = uuid.uuid4().hex[:8]
    var_dir = ROOT / "var" / "bench" / f"api-var-{os.getpid()}"
    var_dir.mkdir(parents=True, exist_ok=True)
    if not args.keep:
        recreate_database(args.database_url)
    key = make_key(args.database_url) if not args.keep else args.api_key
    server = start_server(args.database_url, args.port, args.workers, args.threads, var_dir, args.numbers, args.floor)
    try:
        measure_from = [float("inf")]
        until = threading.Event()
        clients = [Client(n, args.port, key, tag, until, measure_from) for n in range(args.clients)]
        for client in clients:
            client.start()
        time.sleep(args.warmup)
        measure_from[0] = time.perf_counter()
        load_before = os.getloadavg()[0]
        time.sleep(args.seconds)
        until.set()
        for client in clients:
            client.join()
        measured_until = max(started + elapsed for c in clients for started, elapsed, _status in c.results)
        retried = retry_sample(clients, args.port, key)
        load_after = os.getloadavg()[0]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(var_dir, ignore_errors=True)
    results = [r for c in clients for r in c.results]
    ok = [elapsed for _s, elapsed, status in results if status == 201]
    errors = [status for _s, _e, status in results if status != 201]
    duration = measured_until - measure_from[0]
    references = [reference for c in clients for _k, _b, reference in c.sent]
    stored = count_cases(args.database_url, tag)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.node()} {os.cpu_count()} CPUs, {platform.python_version()}",
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "floor_without_open_case": args.floor,
        "clients": args.clients, "workers": args.workers, "threads": args.threads, "case_numbers": args.numbers,
        "seconds": round(duration, 2),
        "requests": len(results), "created": len(ok), "errors": len(errors), "error_statuses": sorted(set(errors)),
        "cases_per_second": round(len(ok) / duration, 1),
        "latency_ms": {
            "p50": round(statistics.median(ok) * 1000, 1), "p95": round(percentile(ok, 95) * 1000, 1),
            "p99": round(percentile(ok, 99) * 1000, 1), "max": round(max(ok) * 1000, 1),
        },
        "rows_check": stored | {
            "answered_201_total": sum(c.created_total for c in clients), "answered_201_measured": len(ok),
            "distinct_references_answered": len(set(references)),
        },
        "retries": retried,
    }


def retry_sample(clients: list[Client], port: int, key: str, size: int = 50) -> dict:
    """Send some measured requests again, same key and body: each must be replayed, none stored twice."""
    sample = [sent for client in clients for sent in client.sent[:2]][:size]
    replayed = same_reference = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for idem_key, body, reference in sample:
        conn.request("POST", "/api/v1/cases", body=body, headers={
            "Authorization": f"Bearer {key}", "Content-Type": "application/json", "Idempotency-Key": idem_key,
        })
        response = conn.getresponse()
        data = response.read()
        replayed += response.getheader("Idempotent-Replayed") == "true"
        same_reference += response.status == 201 and json.loads(data)["reference"] == reference
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.close()
    return {"sent_again": len(sample), "replayed": replayed, "same_reference": same_reference}


def count_cases(url: str, tag: str) -> dict:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url) as conn:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT reference) FROM cases_case WHERE subject LIKE %s", (f"%{tag}%",)
        ).fetchone()
    return {"cases_in_database": total, "distinct_references_in_database": distinct}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread) when above 1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--numbers", choices=["auto", "counter", "sequence"], default="auto",
                        help="PREVENANCE_CASE_NUMBERS for the server (cases/services/numbering.py)")
    parser.add_argument("--keep", action="store_true", help="reuse the database as it is (needs --api-key)")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--floor", action="store_true",
                        help="stub open_case in the server (bench/floor_gunicorn.py): the HTTP floor, no case stored")
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    check = result["rows_check"]
    # Every 201 (warm-up included) is exactly one stored case, each with its own reference.
    if args.floor:  # no case is stored: only errors and the replayed retries can be checked
        sys.exit(1 if result["errors"] or result["retries"]["replayed"] != result["retries"]["sent_again"] else 0)
    failed = (
        result["errors"]
        or check["distinct_references_answered"] != check["answered_201_measured"]
        or check["cases_in_database"] != check["distinct_references_in_database"]
        or check["cases_in_database"] != check["answered_201_total"]
        or result["retries"]["replayed"] != result["retries"]["sent_again"]
        or result["retries"]["same_reference"] != result["retries"]["sent_again"]
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
