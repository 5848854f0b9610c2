"""Benchmarks of newsdesk against baselines measured in the same run (issue 9).

Run them all with ``make bench`` (``python -m benchmarks.run``); it writes
``benchmarks/RESULTS.md``. Generated projects go under ``benchmarks/work/`` (git-ignored).
"""
