"""Benchmarks: how fast the help line answers, measured against the bare framework.

Not part of the test run. ``python -m bench`` (or ``python -m bench --quick``) runs every
scenario on SQLite with one worker and on PostgreSQL + Redis with two workers, prints a
table and writes JSON to ``bench/results/``. Everything targets 127.0.0.1 only.
"""
