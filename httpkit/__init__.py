"""gaia's HTTP/1.1 client: pooled keep-alive connections over asyncio and httptools.

It was chosen by measurement (bench/legacy_clients.py: about twice aiohttp's requests/s
and a third of its CPU per request here) and is shared by whatever talks HTTP to
something gaia does not run in-process: the old API behind the legacy proxy, and
container instances serving on $PORT.
"""
