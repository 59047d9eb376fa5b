"""API fixtures: tokens made through the service, and a client that sends them."""

import uuid

import pytest


class Api:
    """Reads like an integration's calls: api.post("/transfers", {...}, key="k")."""

    def __init__(self, client, secret):
        self.client, self.secret = client, secret

    def _headers(self, key=None, secret=None):
        headers = {"Authorization": f"Bearer {secret or self.secret}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def get(self, path, **kw):
        return self.client.get("/api/v1" + path, headers=self._headers(secret=kw.pop("secret", None)), **kw)

    def post(self, path, body=None, key=None, **kw):
        return self.client.post("/api/v1" + path, json=body, headers=self._headers(key, kw.pop("secret", None)), **kw)


@pytest.fixture
def api(client, make_token):
    _, secret = make_token("read,write")
    return Api(client, secret)


@pytest.fixture
def funded(api):
    """Two USD wallets with 100.00 and 0.00, made through the API."""
    a = api.post("/wallets", {"owner_name": "Alice", "currency": "USD"}).json
    b = api.post("/wallets", {"owner_name": "Bob", "currency": "USD"}).json
    api.post(f"/wallets/{a['id']}/fund", {"amount": "100.00"}, key=str(uuid.uuid4()))
    return a["id"], b["id"]
