# Cython's declarations for handover.py (compiled when the build finds Cython; see
# setup.py): the in-flight count every proxied request moves, as a C struct. handover.py
# stays the source and runs as it is without them.

cdef class TrackedProxy:
    cdef object _inner
    cdef public Py_ssize_t in_flight
    cdef object _idle
    cdef object __weakref__

    cdef _enter(self)
    cdef _leave(self)


cdef class _Leaving:
    cdef TrackedProxy _proxy
    cdef object _done
