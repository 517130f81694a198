"""The benchmarks (``make bench``, ``bench-api``, ``bench-scale``, ``bench-segment``)."""

from pathlib import Path

DATA = Path(__file__).resolve().with_name("data")  # the generated files the benchmarks read
