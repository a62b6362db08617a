# Cython's declarations for headers.py (compiled when the build finds Cython; see
# setup.py): the two rewrites every proxied request makes, as C functions. headers.py
# stays the source and runs as it is without them.
cimport cython
from httpkit.headers cimport end_to_end_without

cdef frozenset _REPLACED
cdef frozenset _OWN
cdef tuple _PROTO_HTTP
cdef tuple _PROTO_HTTPS


cpdef list upstream_request_headers(request, bytes default_host)

@cython.locals(
    headers=list, forwarded_for=bytes, host=bytes, address=str, peer=bytes, name=bytes, value=bytes
)
cpdef list forwarded_headers(list received, client, str scheme, bytes default_host)

@cython.locals(kept=list, name=bytes)
cpdef list client_response_headers(list headers, str request_id)
