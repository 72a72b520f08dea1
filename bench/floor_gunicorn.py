"""gunicorn hooks for `bench_api.py --floor`: every worker answers with a stored case instead of opening one.

What is left is the floor of a case creation over HTTP on this machine: gunicorn, Django,
the middleware (the Idempotency-Key's claim and stored answer included), Ninja's parsing
and validation, the API key and the answer's serialisation. A benchmark-only hook: the
application is not changed, the stub is put in place in each worker after it has loaded.
"""

import threading


def post_worker_init(worker) -> None:
    from prevenance.cases import api as cases_api  # noqa: PLC0415 - inside the worker, after Django is set up

    real = cases_api.services.open_case
    stored = []
    lock = threading.Lock()

    def answer_with_a_stored_case(**fields):
        with lock:
            if not stored:  # the worker's first request opens one real case, the others reuse it
                stored.append(real(**fields).case)
        return type("StoredIntake", (), {"case": stored[0], "created": True})()

    cases_api.services.open_case = answer_with_a_stored_case
