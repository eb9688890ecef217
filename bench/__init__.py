"""The benchmark suite: `python -m bench` (or `make bench`) measures the gateway against the sandbox on loopback.

Benchmarks are not tests: nothing here asserts, and pytest does not collect it. Figures go in bench/README.md.
"""
