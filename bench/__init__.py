"""Benchmarks (scripts, not tests): `python bench/http.py --help`,
`python bench/delivery.py --help`; shared helpers in bench/common.py."""
