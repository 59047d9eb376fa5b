"""The ledger: the operation catalogue, the one write path (engine), wallet operations and reads.

Callers use `operations` for every state change and `queries` for reads; both take plain
values and return plain values or raise a WalletError.
"""
