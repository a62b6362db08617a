# Cython's declarations for http_serve.py (compiled when the build finds Cython; see
# setup.py): the connection and its request cycles as C structs, with C-level calls
# between them. http_serve.py stays the source and runs as it is without them.

cdef class Server:
    cdef public object app
    cdef public dict state
    cdef public object invocations
    cdef public object loop
    cdef public double keep_alive_s
    cdef public set tasks


cdef class HttpConnection:
    cdef Server server
    cdef object loop
    cdef object parser
    cdef object transport
    cdef object flow
    cdef object pipeline
    cdef Cycle cycle
    cdef bytes url
    cdef list headers
    cdef Py_ssize_t context_at
    cdef bint expect_100_continue
    cdef bint reading
    cdef object keep_alive
    cdef double last_done

    cdef _run(self, Cycle cycle)
    cdef response_complete(self)


cdef class Cycle:
    cdef HttpConnection connection
    cdef dict scope
    cdef object transport
    cdef object flow
    cdef bint disconnected
    cdef bint keep_alive
    cdef bint waiting_for_100_continue
    cdef object body
    cdef bint more_body
    cdef bint news
    cdef object waiter
    cdef list more_waiters
    cdef bint response_started
    cdef bint response_complete
    cdef object chunked_encoding
    cdef object expected_content_length
    cdef bint head
    cdef bint returned
    cdef object task

    cdef wake(self)
    cdef _start(self, message)
    cdef _body(self, body, bint more_body)
