"""What a spliced request's end is told, once: the router's record of it (discovery, a
ledger route's evidence, a shadow copy to offer), and the proxy's count of its requests
in flight.

A base class rather than a callable: compiled (done.pxd), each record is a C struct whose
`record` the splice calls at C level, where calling a callable costs a Python-level
call with its argument parsing, and a request's end makes two (the in-flight count's,
then the router's).
"""

from __future__ import annotations

from gateway.http.splice import RequestHead, SpliceOutcome


class SpliceDone:
    __slots__ = ()

    def record(self, head: RequestHead, outcome: SpliceOutcome) -> None:
        """The request `head` ended as `outcome` says."""
        raise NotImplementedError
