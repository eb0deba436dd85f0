"""A bare Django + DRF project of the same shape as the service's referral read, for
``bench/read_bench.py``: Survivor and Referral in plain text (no encryption), DRF's own
token auth, a ``RetrieveAPIView`` with a nested ``ModelSerializer`` and a
``CreateAPIView`` for notes. No consent, access rule, audit or outbox: the baseline is
what Django, DRF, the database and Daphne cost by themselves. It imports none of the
service's apps."""
