"""`flask --app wsgi worker`: the long-running process beside the web servers. It sequences
committed events, delivers webhooks (several at once, each on its own thread and session),
seals committed history into the seal chain, and expires holds, approval requests and waiting
batches on its own schedule. Several workers may run: the sequencer takes turns (an advisory
lock), deliveries are leased, sealing is one at a time (a row lock)."""

import logging
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from ..extensions import db
from ..ledger import seals
from . import delivery, feed

log = logging.getLogger(__name__)
IDLE_S = 0.2  # between rounds that found nothing to do


def run(app: Flask, *, once: bool = False, stop: threading.Event | None = None) -> None:
    """Work until SIGTERM or SIGINT, or `stop` is set (then finish the attempts under way);
    `once`: one round."""
    stop = stop or threading.Event()
    wake = threading.Event()  # a delivery ended: its slot is free (and its wallet's next may go)
    if not once and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: (stop.set(), wake.set()))
    config = app.config
    slots = config["WORKER_DELIVERIES"]
    busy = threading.Semaphore(slots)
    next_expiry = next_seal = 0.0

    def deliver(d) -> None:
        try:
            with app.app_context():
                try:
                    delivery.attempt(d)
                finally:
                    db.session.remove()
        except Exception:  # noqa: BLE001 - a worker thread must not die; the lease brings it back
            log.exception("delivery %s", d.id)
        finally:
            busy.release()
            wake.set()

    with ThreadPoolExecutor(slots, thread_name_prefix="webhook") as pool, app.app_context():
        while not stop.is_set():
            wake.clear()
            try:
                sequenced = feed.sequence()
                if time.monotonic() >= next_seal:
                    seals.seal()
                    next_seal = time.monotonic() + config["WORKER_SEAL_EVERY_S"]
                if time.monotonic() >= next_expiry:
                    _expire()
                    next_expiry = time.monotonic() + config["WORKER_EXPIRE_EVERY_S"]
                free, claimed = 0, []
                while busy.acquire(blocking=False):
                    free += 1
                try:
                    # Claims in handfuls (each claim reads the head of every queue): at least
                    # half the slots, unless none is busy.
                    if free and (free == slots or free >= max(1, slots // 2)):
                        claimed = delivery.claim(free)
                finally:  # a claim that failed (the database away) leaves every slot free
                    for _ in range(free - len(claimed)):
                        busy.release()
                for d in claimed:
                    pool.submit(deliver, d)
            except Exception:  # noqa: BLE001 - the database away a moment: try again next round
                log.exception("worker round")
                db.session.remove()  # a connection the server dropped is not used again
                stop.wait(1)
                continue
            if once:
                break
            if sequenced or 0 < free == len(claimed):
                continue  # more may be waiting: round again at once
            # Nothing more due now, or every slot busy: until a delivery ends, or IDLE_S.
            wake.wait(IDLE_S)
        db.session.remove()


def _expire() -> None:
    from ..ledger.batches import expire_waiting
    from ..ledger.operations import expire_holds
    from ..services.audit import Actor

    actor = Actor(scope="worker", name="worker")
    ended, batches = expire_holds(actor=actor), expire_waiting(actor=actor)
    if ended or batches:
        log.info("expired %d holds and requests, %d waiting batches", ended, batches)
