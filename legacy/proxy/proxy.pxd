# Cython's declarations for proxy.py (compiled when the build finds Cython; see
# setup.py): the proxy's choice of upstream and its splices made at C level. proxy.py
# stays the source and runs as it is without them.
from gateway.http.splice cimport RequestHead
from httpkit.client cimport HttpClient
from legacy.done cimport SpliceDone
from legacy.proxy.splice cimport LegacySplice, legacy_splice


cdef class LegacyProxy:
    cdef object _upstreams
    cdef object _only
    cdef public HttpClient client
    cdef object __weakref__

    cpdef LegacySplice splice(self, RequestHead head, SpliceDone done, Py_ssize_t capture_limit)
    cdef _choose(self, request)
