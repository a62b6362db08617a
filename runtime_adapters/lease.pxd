# Cython's declarations for lease.py (compiled when the build finds Cython; see
# setup.py): every lease a C struct, so that the trigger's splice reads its fields and
# calls it at C level. lease.py stays the source and runs as it is without them.

cdef class HttpLease:
    cdef public bint announces_request
    cdef public object client
    cdef public object origin
    cdef public double timeout_s

    cpdef bint reroute(self, error)
    cpdef failure(self, error)
    cpdef release(self, answered)
