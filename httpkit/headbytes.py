"""A message head as the bytes that go on the wire: its first line's parts, each field as
`name: value` CRLF, and what closes it (the framing fields and the blank line).

This is the pure-Python form. Compiled (setup.py), the modules that build a head per
spliced request (gateway/http/exchange.py) cimport httpkit/cheadbytes.pxd under this
module's name instead: the same function in C, which sizes the head, makes the bytes once
and copies each part in, where a join of a list made per head costs a list, a buffer array
and a buffer release per part (about 120 machine instructions a part, measured). Both
give the same bytes; tests/httpkit/test_headbytes.py holds them to it.
"""

from __future__ import annotations

Headers = list[tuple[bytes, bytes]]


def head(
    first: bytes, second: bytes, third: bytes, fields: Headers, fourth: bytes, last: bytes
) -> bytes:
    """`first + second + third`, each of `fields` as `name: value\\r\\n`, then
    `fourth + last`."""
    parts = [first, second, third]
    for name, value in fields:
        parts += (name, b": ", value, b"\r\n")
    parts.append(fourth)
    parts.append(last)
    return b"".join(parts)
