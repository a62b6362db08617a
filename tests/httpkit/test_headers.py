"""How a request's body is framed, which a hop needs to pass it on."""

from __future__ import annotations

from httpkit.headers import request_body_length


def test_request_body_framing() -> None:
    assert request_body_length([(b"content-length", b"12")]) == (True, 12)
    assert request_body_length([(b"transfer-encoding", b"chunked")]) == (True, None)
    assert request_body_length([(b"accept", b"*/*")]) == (False, None)
