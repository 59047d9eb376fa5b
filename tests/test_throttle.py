"""Rate limits counted in batches per process (wallet_app/throttle.py): the error bound its
docstring promises, and exact counts where it promises them."""
import uuid

import pytest
import redis
from limits.storage import storage_from_string

from wallet_app.throttle import Throttle, _parse

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix():
    """A key prefix of this test's own in the shared Redis, its keys deleted afterwards."""
    client = redis.Redis.from_url(REDIS, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379 (CI and the dev machines have one)")
    name = f"test-throttle-{uuid.uuid4().hex}"
    yield name
    for key in client.scan_iter(f"*{name}*"):
        client.delete(key)


def allowed(processes: list[Throttle], limit: str, key: str, requests: int) -> list[bool]:
    """Send `requests` hits, round robin over the processes; which were let through."""
    item = _parse(limit)
    return [processes[i % len(processes)].hit(item, "api", key) is None for i in range(requests)]


def test_a_large_limit_holds_across_processes_within_one_percent_each(prefix):
    processes = [Throttle(storage_from_string(REDIS)) for _ in range(2)]  # two workers, one Redis
    through = allowed(processes, "1000/hour", f"{prefix}:token", 1200)  # batches of 10
    assert 1000 <= sum(through) <= 1000 + 2 * 9
    assert through[:1000] == [True] * 1000 and not any(through[1100:])
    assert processes[0].hit(_parse("1000/hour"), "api", f"{prefix}:token") > 3000  # Retry-After: the hour's rest


def test_small_limits_count_every_request_across_processes(prefix):
    processes = [Throttle(storage_from_string(REDIS)) for _ in range(3)]
    assert allowed(processes, "150/hour", f"{prefix}:address", 160) == [True] * 150 + [False] * 10


def test_a_single_process_in_memory_counts_exactly():
    through = allowed([Throttle(storage_from_string("memory://"))], "1000/hour", "token", 1005)
    assert through == [True] * 1000 + [False] * 5
