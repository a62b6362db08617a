# Cython's declarations for splice.py (compiled when the build finds Cython; see
# setup.py): the legacy splice as a C struct, made from the head's C fields. splice.py
# stays the source and runs as it is without them.
from gateway.http.splice cimport RequestHead, Splice, SpliceOutcome
from legacy.proxy.headers cimport client_response_headers, forwarded_headers
from legacy.proxy.request cimport request_target


cdef class LegacySplice(Splice):
    cdef object _done
    cdef RequestHead _head
    cdef object _upstream

    cpdef list response_headers(self, int status, list headers)
    cpdef failure(self, error)
    cpdef bint reroute(self, error) except -1
    cpdef finished(self, SpliceOutcome outcome)
