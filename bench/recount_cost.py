"""What one recount of the leaders' counters costs, in process (chounaikai/live/counters.py).

On SQLite a recount holds the single write lock, so every first read that arrives
meanwhile waits for it; on PostgreSQL it holds the leaders' room lock.  This seeds the
read-path bench's association, marks each of its circulars due three times, and times
``counters.announce_due()`` + commit until nothing is due, for ``--rounds`` rounds::

    .venv/bin/python bench/recount_cost.py [--database postgresql] [--rounds 30]

It prints CPU and wall milliseconds per recount and the SQL statements one takes.  A
diagnostic without a target: compare two checkouts on the same machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import read_path  # noqa: E402
from sqlalchemy import event, insert, select  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

MARKS_PER_CIRCULAR = 3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    from chounaikai import create_app
    from chounaikai.database import dispose_engines
    from chounaikai.extensions import db
    from chounaikai.live import counters
    from chounaikai.models import Circular, LiveCountsDue, utcnow

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url, drop = read_path.create_database(args.database, tmp, args.postgres_url)
        try:
            read_path.migrate_and_seed(url, tmp)
            # TESTING: no counter thread of its own recounts behind this script's back.
            app = create_app({"DATABASE_URL": url, "SECRET_KEY": read_path.SECRET_KEY,
                              "UPLOAD_FOLDER": str(tmp), "TESTING": True,
                              "LIVE_COUNTS_SECONDS": 1.0, "PUSH_WORKER": "off"})
            statements = [0]

            @event.listens_for(Engine, "before_cursor_execute")
            def _count(*_args):
                statements[0] += 1

            cpu = wall = 0.0
            recounts = counted = 0
            with app.test_request_context("/"):
                ids = list(db.session.scalars(select(Circular.id)))
                for _ in range(args.rounds):
                    db.session.execute(insert(LiveCountsDue), [
                        {"circular_id": circular_id, "since": utcnow()}
                        for circular_id in ids for _ in range(MARKS_PER_CIRCULAR)])
                    db.session.commit()
                    before = statements[0]
                    started_cpu, started = time.thread_time(), time.perf_counter()
                    while counters.announce_due():
                        db.session.commit()
                        recounts += 1
                    db.session.commit()
                    cpu += time.thread_time() - started_cpu
                    wall += time.perf_counter() - started
                    counted += statements[0] - before
            print(f"{args.database}: {recounts} recounts of {len(ids)} circulars "
                  f"({MARKS_PER_CIRCULAR} marks each per round): "
                  f"CPU {cpu / recounts * 1000:.2f} ms, wall {wall / recounts * 1000:.2f} ms, "
                  f"{counted / recounts:.1f} SQL statements per recount")
            dispose_engines(app)
        finally:
            drop()


if __name__ == "__main__":
    main()
