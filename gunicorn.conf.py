"""gunicorn settings for production: gunicorn -c gunicorn.conf.py wsgi:app

Chosen by measurement (make bench, bench/RESULTS.md): one worker per core, each with a few
threads to overlap database round trips. More processes only fight PostgreSQL for the
cores; more threads only add GIL hand-offs.
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("WEB_THREADS", 4))
worker_class = "gthread"
# Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads connections
# over the workers. On one shared socket, the first worker to wake accepted all 64
# keep-alive connections of the benchmark and the others sat idle (one core of two used).
reuse_port = True
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 100_000  # recycle workers now and then, in case of slow leaks
max_requests_jitter = 10_000
accesslog = None  # the app writes its own structured request log
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
