# Cython's declarations for accesslog.py (compiled when the build finds Cython; see
# setup.py): the access line's write, once per request, at C level. accesslog.py stays
# the source and runs as it is without them.

from gateway.logs cimport FunctionLogs


cdef class JsonLines:
    cdef object _stream
    cdef bytearray _pending
    cdef bint _scheduled
    cdef FunctionLogs _logs

    cpdef write(self, dict record)
    cpdef flush(self)
