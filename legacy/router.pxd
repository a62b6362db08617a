# Cython's declarations for router.py (compiled when the build finds Cython; see
# setup.py): the router's per-request decision (`splice`) and what it reads of a ledger
# route as C structs, and the record of a request the old API answered as a C call
# into the evidence book. router.py stays the source and runs as it is without them.
from gateway.http.splice cimport RequestHead, SpliceOutcome
from legacy.evidence cimport EvidenceBook, RouteEvidence


cdef class _Route:
    cdef public object config
    cdef public str state
    cdef public object function
    cdef public bint shadow_unsafe
    cdef public RouteEvidence window
    cdef public object budget
    cdef public object split
    cdef public object copies
    cdef public object legacy_done


cdef class LegacyAnswered:
    cdef EvidenceBook _book
    cdef RouteEvidence _window


cdef class LegacyRouter:
    cdef object _proxy
    cdef object _functions
    cdef EvidenceBook _book
    cdef object _shadow
    cdef Py_ssize_t _body_limit
    cdef object _clock
    cdef object _rand
    cdef object _ticks
    cdef dict _routes
    cdef object _discovered_done
    cdef object _config
    cdef object _table
    cdef object __weakref__

    cpdef splice(self, RequestHead head)
    cdef bint _copied(self, _Route route, target, str method) except -1
