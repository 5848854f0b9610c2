"""Tests of the subscription service (``newsdesk.service``), a file per module; the
fixtures are in ``conftest.py``, the helpers in ``support.py``."""
