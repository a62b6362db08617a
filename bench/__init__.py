"""Benchmarks (scripts, not tests): `python -m bench.hot_path --help`,
`python -m bench.delivery --help`; shared helpers in bench/common.py."""
