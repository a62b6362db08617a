# Cython's declarations for splice.py (compiled when the build finds Cython; see
# setup.py): the legacy splice as a C struct, made from the head's C fields. splice.py
# stays the source and runs as it is without them.
cimport cython

from gateway.http.splice cimport RequestHead, Splice, SpliceOutcome
from httpkit.client cimport HttpClient
from legacy.done cimport SpliceDone
from legacy.proxy.headers cimport client_response_headers, forwarded_headers
from legacy.proxy.request cimport request_target


cdef class LegacySplice(Splice):
    cdef object _done
    cdef RequestHead _head
    cdef object _upstream

    cdef _begin(
        self,
        HttpClient client,
        upstream,
        RequestHead head,
        SpliceDone done,
        Py_ssize_t capture_limit,
    )
    cpdef list response_headers(self, int status, list headers)
    cpdef failure(self, error)
    cpdef bint reroute(self, error) except -1
    @cython.locals(done=SpliceDone)
    cpdef finished(self, SpliceOutcome outcome)


@cython.locals(splice=LegacySplice)
cpdef LegacySplice legacy_splice(
    HttpClient client, upstream, RequestHead head, SpliceDone done, Py_ssize_t capture_limit
)
