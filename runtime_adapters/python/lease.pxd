# Cython's declarations for lease.py (compiled when the build finds Cython; see
# setup.py): a lent slot made and given back per request, at C level. lease.py stays the
# source and runs as it is without them.
cimport cython

from runtime_adapters.lease cimport HttpLease
from runtime_adapters.slots cimport Slots


cdef class WorkerLease(HttpLease):
    cdef bint _expired
    cdef object _instance
    cdef object _pool
    cdef double _sent_at
    cdef Slots _slots

    cpdef bint reroute(self, error)
    cpdef failure(self, error)
    cpdef release(self, answered)


cdef class WorkerLessor:
    cdef object _client
    cdef dict _origins
    cdef object _pool
    cdef Slots _slots
    cdef double _timeout_s

    @cython.locals(origins=dict, slots=Slots, lease=WorkerLease)
    cpdef WorkerLease lease(self)
