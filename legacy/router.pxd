# Cython's declarations for router.py (compiled when the build finds Cython; see
# setup.py): the router's per-request decision (`splice`) and what it reads of a ledger
# route as C structs, the splice asked of the proxy and the record of a request the old
# API answered as C calls. router.py stays the source and runs as it is without them.
cimport cython

from gateway.http.splice cimport RequestHead, SpliceOutcome
from legacy.done cimport SpliceDone
from legacy.evidence cimport EvidenceBook, RouteEvidence
from legacy.handover cimport TrackedProxy
from limits.bucket cimport TokenBucket


cdef class LegacyAnswered(SpliceDone):
    cdef EvidenceBook _book
    cdef RouteEvidence _window

    cpdef record(self, RequestHead head, SpliceOutcome outcome)


cdef class _Discovered(SpliceDone):
    cdef EvidenceBook _book

    cpdef record(self, RequestHead head, SpliceOutcome outcome)


cdef class _Route:
    cdef public object config
    cdef public str state
    cdef public object function
    cdef public bint shadow_unsafe
    cdef public RouteEvidence window
    cdef public object budget
    cdef public object split
    cdef public TokenBucket copies
    cdef public LegacyAnswered legacy_done


cdef class LegacyRouter:
    cdef TrackedProxy _proxy
    cdef object _functions
    cdef EvidenceBook _book
    cdef object _shadow
    cdef Py_ssize_t _body_limit
    cdef object _clock
    cdef object _rand
    cdef object _ticks
    cdef dict _routes
    cdef dict _found
    cdef SpliceDone _discovered_done
    cdef object _config
    cdef object _table
    cdef object __weakref__

    @cython.locals(route=_Route, proxy=TrackedProxy)
    cpdef splice(self, RequestHead head)
    @cython.locals(key=tuple, found=tuple)
    cdef tuple _matched(self, method, path)
    cdef bint _copied(self, _Route route, target, str method) except -1


cdef class _ShadowSpliced(SpliceDone):
    cdef LegacyRouter _router
    cdef _Route _route
    cdef object _target
    cdef dict _params

    @cython.locals(route=_Route)
    cpdef record(self, RequestHead head, SpliceOutcome outcome)
