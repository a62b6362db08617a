# Cython's declarations for handover.py (compiled when the build finds Cython; see
# setup.py): the in-flight count every proxied request moves, as a C struct, and the
# splices asked of the gateway's own proxy at C level. handover.py stays the source and
# runs as it is without them.
cimport cython

from gateway.http.splice cimport RequestHead, SpliceOutcome
from legacy.done cimport SpliceDone
from legacy.proxy.proxy cimport LegacyProxy


cdef class _Leaving


cdef class TrackedProxy:
    cdef object _inner
    cdef LegacyProxy _legacy
    cdef public Py_ssize_t in_flight
    cdef object _idle
    cdef object __weakref__

    @cython.locals(leaving=_Leaving, legacy=LegacyProxy)
    cpdef splice(self, RequestHead head, SpliceDone done, Py_ssize_t capture_limit)
    cdef _enter(self)
    cdef _leave(self)


cdef class _Leaving(SpliceDone):
    cdef TrackedProxy _proxy
    cdef SpliceDone _done

    cpdef record(self, RequestHead head, SpliceOutcome outcome)
