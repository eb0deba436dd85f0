"""Many clients retrying one request at once, against a group of Daphnes some of which
may be dead: each attempt goes to the next worker in turn and, unanswered, at once to
the one after (a client's failover); every send is counted."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tests.reliability import wire


@dataclass
class Tally:
    sends: int = 0
    unanswered: int = 0
    statuses: Counter = field(default_factory=Counter)
    replayed: int = 0
    created_ids: set = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    def add(self, reply: wire.Reply) -> None:
        with self.lock:
            self.sends += 1
            if not reply.answered:
                self.unanswered += 1
                return
            self.statuses[reply.status] += 1
            if reply.headers.get("idempotent-replayed") == "true":
                self.replayed += 1
            if reply.status == 201 and reply.body:
                self.created_ids.add(reply.body.get("id"))


def retry_storm(ports: list[int], *, attempts: int, clients: int, send, deadline: float) -> Tally:
    """``attempts`` retries of ``send(port)`` from ``clients`` threads at once."""
    tally = Tally()
    turn = itertools.count()
    start = threading.Barrier(clients)

    def client(count: int) -> None:
        start.wait(timeout=30)
        for _ in range(count):
            if time.monotonic() > deadline:
                return
            first = next(turn)
            for offset in range(len(ports)):
                reply = send(ports[(first + offset) % len(ports)])
                tally.add(reply)
                if reply.answered:
                    break

    share, extra = divmod(attempts, clients)
    with ThreadPoolExecutor(clients) as pool:
        done = [pool.submit(client, share + (i < extra)) for i in range(clients)]
        for future in done:
            future.result()
    return tally
