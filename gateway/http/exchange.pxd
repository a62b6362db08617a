# Cython's declarations for exchange.py (compiled when the build finds Cython; see
# setup.py): the exchange as a C struct with C-level calls between its methods and to
# httpkit's Connection. exchange.py stays the source and runs as it is without them.
cimport cython

from gateway.http.splice cimport Capture, RequestHead, Splice, Splicer, make_outcome
from httpkit.client cimport AnswerSink, HttpClient, _Connection
# headbytes.py's `head` as C (cheadbytes.pxd): the name exchange.py calls it by.
from httpkit cimport cheadbytes as headbytes

# Typed, so a look-up is a C dict look-up rather than a call of the dict's `get`.
cdef dict _STATUS_LINES
cdef dict _METHOD_LINES
# A C integer, for _gathered's loop.
cdef Py_ssize_t _GATHERED


cdef class _Defaults:
    cdef object fields
    cdef bytes lines


cdef _Defaults _DEFAULTS


cdef class ClientSide:
    cdef public object flow
    cdef public object loop
    cdef public object server_state
    cdef public object transport

    cpdef exchange_done(self, exchange)


cdef class Exchange(AnswerSink):
    cdef list _answer_headers
    cdef Capture _answer_kept
    cdef bint _began
    cdef bint _chunked
    cdef HttpClient _client
    cdef bint _client_chunked
    cdef bint _client_slow
    cdef _Connection _conn
    cdef object _deadline
    cdef bint _done
    cdef bint _expect_continue
    cdef bint _failing
    cdef bint _gathering
    cdef bint _has_body
    cdef RequestHead _head
    cdef double _last_read
    cdef bytes _length
    cdef object _loop
    cdef list _out
    cdef Py_ssize_t _pending
    cdef bint _reading_held
    cdef bint _request_done
    cdef Capture _request_kept
    cdef bint _retried
    cdef bint _reused
    cdef ClientSide _side
    cdef Splice _splice
    cdef Splicer _splicer
    cdef double _started
    cdef int _status
    cdef list _up
    cdef bytes _upstream_head
    cdef public bint disconnected
    cdef public bint keep_alive
    cdef public bint response_complete

    cdef _begin(self, ClientSide side, RequestHead head, Splice splice, Splicer splicer, bint expect_continue)
    cpdef start(self)
    cpdef request_body(self, bytes data)
    cpdef request_end(self)
    cpdef client_fed(self)
    cpdef client_paused(self)
    cpdef client_resumed(self)
    cpdef client_lost(self)
    cpdef answer_head(self, int status, list headers)
    cpdef answer_body(self, bytes data)
    cpdef answer_fed(self)
    cpdef answer_end(self)
    cpdef answer_failed(self, error)
    cpdef upstream_paused(self)
    cpdef upstream_resumed(self)
    cdef _connect(self)
    cdef _use(self, _Connection connection, bint reused)
    cdef double _due(self, double last_read)
    cdef _flush_up(self)
    cdef _drop_connection(self)
    cpdef _check_read(self, _Connection connection)
    @cython.locals(line=bytes, framing=bytes, splice=Splice)
    cdef bytes _request_head(self, length)
    @cython.locals(line=bytes, name=bytes, value=bytes, length=bytes, kept=_Defaults)
    cdef bytes _response_head(self, int status, list headers, bint head_only)
    @cython.locals(size=Py_ssize_t, part=bytes)
    cdef _flush_out(self)
    cdef _failed(self, error)
    cdef _answer_failure(self, failure)
    cdef _respond_complete(self)
    cdef _finish(self, int status, failure)


@cython.locals(size=Py_ssize_t, digit=Py_ssize_t)
cpdef bint gathered(bytes length) except -1


@cython.locals(made=Exchange)
cpdef Exchange make_exchange(ClientSide side, RequestHead head, Splice splice, Splicer splicer, bint expect_continue)
