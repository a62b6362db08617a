# Cython's declarations for splice.py (compiled when the build finds Cython; see
# setup.py): the per-request records as C structs, and the seam's two base classes, so
# that the exchange and the wire read a splice's fields and call both at C level (through
# the vtable: a compiled subclass's methods, or a Python subclass's overrides). splice.py
# stays the source.
cimport cython

from httpkit.client cimport HttpClient

cdef class RequestHead:
    cdef public object method
    cdef public object path
    cdef public bytes raw_path
    cdef public bytes query_string
    cdef public list headers
    cdef public object client
    cdef public object scheme
    cdef public object http_version
    cdef public bint keep_alive
    cdef public object content_length
    cdef public bint chunked
    cdef public object request_id
    cdef public double at
    cdef public object log_fields

    cdef _fill(self, method, path, bytes raw_path, bytes query_string, list headers, client,
               scheme, http_version, bint keep_alive, content_length, bint chunked)


cdef class Capture:
    cdef Py_ssize_t _limit
    cdef list _kept
    cdef Py_ssize_t _size

    cpdef add(self, bytes data)
    cpdef body(self)


cdef class Captured:
    cdef public int status
    cdef public list headers
    cdef public object body


cdef class SpliceOutcome:
    cdef public int status
    cdef public object failure
    cdef public double duration_s
    cdef public object request_body
    cdef public object answer

    cdef _fill(self, int status, failure, double duration_s, request_body, answer)


@cython.locals(head=RequestHead)
cpdef RequestHead make_head(method, path, bytes raw_path, bytes query_string, list headers,
                            client, scheme, http_version, bint keep_alive)
@cython.locals(outcome=SpliceOutcome)
cpdef SpliceOutcome make_outcome(int status, failure, double duration_s, request_body, answer)


cdef class Splice:
    cdef public Py_ssize_t capture_limit
    cdef public HttpClient client
    cdef public object deadline_s
    cdef public list headers
    cdef public object origin
    cdef public bytes target

    cpdef list response_headers(self, int status, list headers)
    cpdef failure(self, error)
    cpdef bint reroute(self, error) except -1
    cpdef finished(self, SpliceOutcome outcome)


cdef class Splicer:
    cpdef Splice splice(self, RequestHead head)
    cpdef spliced(self, RequestHead head, SpliceOutcome outcome)
    cpdef error_answer(self, error, message, request_id)
