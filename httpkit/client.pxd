# Cython's declarations for client.py (compiled when the build finds Cython; see
# setup.py): the connection and the pool's hot calls at C level. client.py stays the
# source and runs as it is without them.

cdef class AnswerSink:
    cpdef answer_head(self, int status, list headers)
    cpdef answer_body(self, bytes data)
    cpdef answer_end(self)
    cpdef answer_failed(self, error)
    cpdef answer_fed(self)
    cpdef upstream_paused(self)
    cpdef upstream_resumed(self)


cdef class _Connection:
    cdef HttpClient _client
    cdef public object origin
    cdef object _loop
    cdef public object transport
    cdef object _parser
    cdef public bint closed
    cdef public bint used
    cdef public double idle_since
    cdef bint _head_only
    cdef bint _informational
    cdef bint _reset_parser
    cdef public int status
    cdef public list headers
    cdef public bint head_done
    cdef public bint complete
    cdef public bint keep_alive
    cdef public bint received_any
    cdef object _chunks
    cdef public Py_ssize_t _buffered
    cdef bint _reading_paused
    cdef public object error
    cdef object _waiter
    cdef object _drain
    cdef AnswerSink _sink
    cdef public object timer
    cdef object __weakref__

    cpdef data_received(self, data)
    cpdef on_header(self, bytes name, bytes value)
    cpdef on_headers_complete(self)
    cpdef on_body(self, bytes body)
    cpdef on_message_complete(self)
    cpdef attach(self, AnswerSink sink, bint head_only)
    cpdef detach(self)
    cdef _stop_timer(self)
    cpdef pause_reading(self)
    cpdef resume_reading(self)
    cdef _ended(self)
    cpdef start(self, bint head_only)
    cdef bint _reads_to_close(self)
    cpdef _fail(self, error)
    cdef _wake(self)
    cpdef send(self, bytes data)
    cpdef close(self)


cdef class HttpClient:
    cdef readonly object _loop
    cdef public double connect_timeout_s
    cdef public double read_timeout_s
    cdef public double idle_timeout_s
    cdef public Py_ssize_t max_idle_per_origin
    cdef dict _idle
    cdef object _sweeper
    cdef object _tls
    cdef public Py_ssize_t connections_opened

    cpdef _Connection idle(self, origin)
    cpdef keep(self, _Connection connection)
    cpdef _forget(self, _Connection connection)
