"""``make chaos``: a large import under SIGKILLs and infrastructure restarts, checked against a
reference computed from the input (``python -m bench.chaos.run --rows 200000``)."""
