# Cython's declarations for lease.py (compiled when the build finds Cython; see
# setup.py): a lent slot made and given back per request, at C level. lease.py stays the
# source and runs as it is without them.

from runtime_adapters.lease cimport HttpLease


cdef class WorkerLease(HttpLease):
    cdef bint _expired
    cdef object _instance
    cdef object _pool
    cdef double _sent_at

    cpdef bint reroute(self, error)
    cpdef failure(self, error)
    cpdef release(self, answered)
