"""Events out (docs/DESIGN.md, "Events"): every change writes an event row in its own
transaction (the engine's triggers); the sequencer gives committed events their place in the
feed and their object as the API answers it (feed.py); webhooks carry them to integrations,
signed, retried, in order per wallet (webhooks.py, delivery.py); the worker runs both, and
expires holds (worker.py)."""
