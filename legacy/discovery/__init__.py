"""Route discovery: the old API's routes learned from the traffic the gateway proxies.

`patterns` turns a path into its route pattern (ids become `{id}`), and `table` keeps
per-pattern figures (methods, requests, share, error rate, p50/p99) in bounded memory.
"""
