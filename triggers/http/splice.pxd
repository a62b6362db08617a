# Cython's declarations for splice.py (compiled when the build finds Cython; see
# setup.py): the trigger's splice as a C struct, its calls from the data plane at C
# level. splice.py stays the source and runs as it is without them.
cimport cython

from gateway.http.splice cimport RequestHead, Splice, SpliceOutcome
from gateway.metrics cimport RevisionMetrics
from runtime_adapters.lease cimport HttpLease
from runtime_adapters.upstream_headers cimport passed_answer_headers, passed_headers


cdef class TriggerSplice(Splice):
    cdef RequestHead _head
    cdef public object _lease
    cdef object _resolved
    cdef object _ticket

    cdef _start(self, RequestHead head, HttpLease lease, resolved, ticket)
    @cython.locals(request_id=str)
    cpdef list response_headers(self, int status, list headers)
    @cython.locals(lease=HttpLease)
    cpdef bint reroute(self, error) except -1
    @cython.locals(lease=HttpLease)
    cpdef failure(self, error)
    cpdef _answer(self, exc)
    @cython.locals(lease=HttpLease, metrics=RevisionMetrics)
    cpdef finished(self, SpliceOutcome outcome)
