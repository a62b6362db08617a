# Cython's declarations for proxy.py (compiled when the build finds Cython; see
# setup.py): the proxy's choice of upstream and its splices made at C level. proxy.py
# stays the source and runs as it is without them.
from httpkit.client cimport HttpClient


cdef class LegacyProxy:
    cdef object _upstreams
    cdef object _only
    cdef public HttpClient client
    cdef object __weakref__

    cdef _choose(self, request)
