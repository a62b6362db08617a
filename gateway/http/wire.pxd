# Cython's declarations for wire.py (compiled when the build finds Cython; see setup.py).
# wire.py stays the source and runs as it is without them.
cimport cython

from gateway.http.exchange cimport ClientSide, Exchange, make_exchange
from gateway.http.splice cimport RequestHead, Splice, Splicer, make_head

# Typed, so a look-up is a C dict look-up rather than a call of the dict's `get`.
cdef dict _METHODS


cpdef bint expects_continue(dict noted)


cdef class RequestWire(ClientSide):
    cdef object _protocol
    cdef Py_ssize_t _max_header_bytes
    cdef Splicer _splicer
    cdef object _counters
    cdef object _root_path
    cdef object _pipeline
    cdef object _client
    cdef object _scheme
    cdef public object parser
    cdef public bytes url
    cdef public list headers
    cdef public dict noted
    cdef public object head_started
    cdef public Py_ssize_t head_bytes
    cdef public Py_ssize_t chunk_bytes
    cdef public object idle_since
    cdef public Exchange exchange
    cdef public Exchange body_to

    cpdef connected(self, transport)
    cpdef data_received(self, bytes data)
    cpdef response_complete(self)
    cpdef exchange_done(self, exchange)
    cpdef on_message_begin(self)
    cpdef on_url(self, bytes url)
    cpdef on_header(self, bytes name, bytes value)
    cdef _note(self, bytes name, bytes value)
    cpdef on_headers_complete(self)
    cpdef on_body(self, bytes body)
    cpdef on_message_complete(self)
    cpdef fed(self, Py_ssize_t size)
    cpdef Py_ssize_t head_size(self) except -1
    cdef _handed(self)
    cdef _dispatch(self)
    @cython.locals(url=bytes, method=bytes, name=str)
    cdef RequestHead _request_head(self, dict noted)
