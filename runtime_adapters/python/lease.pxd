# Cython's declarations for lease.py (compiled when the build finds Cython; see
# setup.py): a lent slot made and given back per request, at C level. lease.py stays the
# source and runs as it is without them.

cdef class WorkerLease:
    cdef bint _expired
    cdef object _instance
    cdef object _pool
    cdef double _sent_at
    cdef public object client
    cdef public object origin
    cdef public double timeout_s

    cpdef bint reroute(self, error)
    cpdef failure(self, error)
    cpdef release(self, answered)
