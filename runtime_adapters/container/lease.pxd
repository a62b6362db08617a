# Cython's declarations for lease.py (compiled when the build finds Cython; see
# setup.py): a lent slot made and given back per request, at C level. lease.py stays the
# source and runs as it is without them.
cimport cython

from runtime_adapters.lease cimport HttpLease
from runtime_adapters.slots cimport Slots


cdef class ContainerLease(HttpLease):
    cdef object _instance
    cdef double _sent_at
    cdef Slots _slots

    cpdef bint reroute(self, error)
    cpdef failure(self, error)
    cpdef release(self, answered)


cdef class ContainerLessor:
    cdef dict _connections
    cdef Slots _slots
    cdef double _timeout_s

    @cython.locals(slots=Slots, lease=ContainerLease, connections=tuple)
    cpdef ContainerLease lease(self)
    cpdef forget(self, instance)
