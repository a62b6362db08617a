"""Limits that hold across gateway replicas: rate limits (token buckets), a concurrency
cap per function, and circuit breaking per revision.

    spec        the gaia.yaml keys (`rate_limit`, `concurrency_limit`, `circuit`)
    bucket      a token bucket in this process (no Redis, or Redis unreachable)
    local       the limits kept in one process, and what every limit offers the gateway
    circuit     one revision's circuit breaker
    link        one Redis server the limits share, and what happens when it is gone
    shared      the Redis-backed rate limiter (with a local allowance) and cap
    errors      the refusals the data plane answers (429, 503)
"""
