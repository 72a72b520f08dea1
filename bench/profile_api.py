"""Where one API case creation's CPU goes: POST /api/v1/cases driven in-process, no HTTP server.

    .venv/bin/python bench/profile_api.py                     # PostgreSQL, fresh database prevenance_bench_profile
    .venv/bin/python bench/profile_api.py --requests 2000 --floor
    .venv/bin/python bench/profile_api.py --cprofile /tmp/api.prof
    .venv/bin/python bench/profile_api.py --requests 10 --show-sql    # + the statements of one request

The WSGI application is called directly with a built environ (Authorization and
Idempotency-Key as bench_api.py sends them), one request after the other, so that the
figures are the server's own work per request without gunicorn or clients: CPU of this
process (`time.thread_time`), CPU of its PostgreSQL backend (from /proc), statements run.
`--floor` also times the same requests with `open_case` replaced by a stub that returns an
already stored case: what Django, the middleware, Ninja, the API key and the answer cost.
The database named in --database-url is dropped and created again (its name must contain
"bench"), as in bench_api.py.
"""

import argparse
import cProfile
import io
import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_api  # noqa: E402 - the same database set-up as the HTTP benchmark

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/prevenance_bench_profile"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--floor", action="store_true", help="also time the requests with open_case stubbed")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one request (first 300 characters each)")
    parser.add_argument("--cprofile", default="", help="write a cProfile of the measured requests to this file")
    args = parser.parse_args()

    bench_api.recreate_database(args.database_url)
    key = bench_api.make_key(args.database_url)
    os.environ.update(DATABASE_URL=args.database_url, DJANGO_SETTINGS_MODULE="prevenance.settings")
    import django  # noqa: PLC0415 - after the environment is set

    django.setup()
    from django.db import connection  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415

    from prevenance.wsgi import application  # noqa: PLC0415

    tag = uuid.uuid4().hex[:8]

    def post(number: int) -> None:
        body = json.dumps({
            "email": f"profile.{tag}.{number}@example.org",
            "customer": {"first_name": "Claire", "last_name": f"Client{number}", "language": "fr"},
            "subject": f"Colis abîmé {tag} {number}",
            "body": "Bonjour, mon colis est arrivé abîmé : la lampe est cassée. Pouvez-vous me la remplacer ? Merci, Claire",
            "type": "complaint",
        }).encode()
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/cases", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
            "wsgi.version": (1, 0), "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": f"Bearer {key}", "HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4()),
        }
        status = []
        answer = application(environ, lambda line, headers, exc_info=None: status.append(line))
        b"".join(answer)
        answer.close()
        if not status[0].startswith(("200", "201")):
            raise SystemExit(f"request {number} answered {status[0]}")

    def backend_cpu() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def measure(first: int) -> dict:
        database, started = backend_cpu(), time.thread_time()
        profile = cProfile.Profile() if args.cprofile else None
        if profile:
            profile.enable()
        for number in range(first, first + args.requests):
            post(number)
        if profile:
            profile.disable()
            profile.dump_stats(args.cprofile)
        own, database = time.thread_time() - started, backend_cpu() - database
        return {"cpu_ms_per_request": round(1000 * own / args.requests, 3),
                "postgresql_cpu_ms_per_request": round(1000 * database / args.requests, 3)}

    for number in range(args.warmup):
        post(number)
    with CaptureQueriesContext(connection) as queries:
        post(10**6)
    if args.show_sql:
        print("\n".join(query["sql"][:300] for query in queries.captured_queries))
    result = {"requests": args.requests, "statements_per_request": len(queries.captured_queries), **measure(10**7)}
    if args.floor:
        from prevenance.cases import api as cases_api  # noqa: PLC0415
        from prevenance.cases.models import Case  # noqa: PLC0415

        stored = Case.objects.select_related("customer").latest("id")
        stored.tag_names = []
        real = cases_api.services.open_case
        cases_api.services.open_case = lambda **_fields: type("Stub", (), {"case": stored, "created": True})()
        try:
            result["floor_without_open_case"] = measure(2 * 10**7)
        finally:
            cases_api.services.open_case = real
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
