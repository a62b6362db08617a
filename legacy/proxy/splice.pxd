# Cython's declarations for splice.py (compiled when the build finds Cython; see
# setup.py): the legacy splice as a C struct, made from the head's C fields. splice.py
# stays the source and runs as it is without them.
cimport cython

from gateway.http.splice cimport RequestHead
from httpkit.client cimport HttpClient
from legacy.done cimport SpliceDone
from legacy.proxy.headers cimport client_response_headers, forwarded_headers
from legacy.proxy.request cimport request_target


cdef class LegacySplice:
    cdef object _done
    cdef RequestHead _head
    cdef object _upstream
    cdef public Py_ssize_t capture_limit
    cdef public HttpClient client
    cdef public object deadline_s
    cdef public list headers
    cdef public object origin
    cdef public bytes target

    cdef _begin(
        self,
        HttpClient client,
        upstream,
        RequestHead head,
        SpliceDone done,
        Py_ssize_t capture_limit,
    )
    cpdef list response_headers(self, int status, list headers)
    cpdef reroute(self, error)
    @cython.locals(done=SpliceDone)
    cpdef finished(self, outcome)


@cython.locals(splice=LegacySplice)
cpdef LegacySplice legacy_splice(
    HttpClient client, upstream, RequestHead head, SpliceDone done, Py_ssize_t capture_limit
)
