# Cython's declarations for http_serve.py (compiled when the build finds Cython; see
# setup.py): the connection and its request cycles as C structs, with C-level calls
# between them. http_serve.py stays the source and runs as it is without them.
cimport cython

cdef bint _COMPILED
# The refusal tables, read through their buffers (bytes objects kept by the module).
cdef bytes _NAME_REFUSED
cdef bytes _VALUE_REFUSED
cdef bytes _PLAIN_TARGET


cdef class Flow:
    cdef object transport
    cdef bint read_paused
    cdef bint write_paused
    cdef object writable

    cdef pause_reading(self)
    cdef resume_reading(self)
    cdef pause_writing(self)
    cdef resume_writing(self)


cdef class Invocations:
    cdef public str function
    cdef public object revision
    cdef public double timeout_s


cdef class Server:
    cdef public object app
    cdef public dict state
    cdef public Invocations invocations
    cdef public object loop
    cdef public double keep_alive_s
    cdef public set tasks
    cdef dict scope
    cdef dict asgi


cdef class HttpConnection:
    cdef Server server
    cdef object loop
    cdef object parser
    cdef object transport
    cdef Flow flow
    cdef object pipeline
    cdef Cycle cycle
    cdef bytes url
    cdef list headers
    cdef Py_ssize_t context_at
    cdef bint expect_100_continue
    cdef bint reading
    cdef bint between
    cdef bytes line
    cdef object keep_alive
    cdef double last_done

    @cython.locals(headers=list, said=bytes, target=bytes, query_at=Py_ssize_t,
                   raw_path=bytes, query=bytes, method=bytes, scope=dict, line=bytes)
    cdef dict _scope(self)
    cdef _run(self, Cycle cycle)
    cdef response_complete(self)


cdef class Cycle:
    cdef HttpConnection connection
    cdef dict scope
    cdef dict asgi
    cdef object transport
    cdef Flow flow
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


@cython.locals(data=bytes, c=cython.uchar, lower=bint)
cdef bint _name_is_lower(name) except -1


@cython.locals(data=bytes, c=cython.uchar)
cdef _check_value(value)


@cython.locals(c=cython.uchar)
cdef bytes _lowered(bytes name)


@cython.locals(at=Py_ssize_t, index=Py_ssize_t, c=cython.uchar)
cdef Py_ssize_t _query_at(bytes target) except -2


@cython.locals(plain=dict)
cdef _get(message, str key, default)


@cython.locals(end=Py_ssize_t)
cdef bint _says_http_1_1(bytes data, bytes method, bytes target) except -1


@cython.locals(index=Py_ssize_t)
cdef bint _at(bytes data, Py_ssize_t start, bytes part) except -1
