# Cython's declarations for admission.py (compiled when the build finds Cython; see
# setup.py): the wait estimate a lent slot updates per request, in C doubles.
# admission.py stays the source and runs as it is without them.
cimport cython

cdef double WEIGHT


cdef class WaitEstimate:
    cdef object _clock
    cdef double _service_s
    cdef bint _has_service
    cdef double _interval_s
    cdef bint _has_interval
    cdef double _last_queued_at
    cdef bint _queued_before

    cpdef double now(self)
    @cython.locals(now=double, service_s=double, interval=double)
    cdef _completed(self, double started_at, bint queued)
    @cython.locals(step=double)
    cpdef double expected_wait(self, Py_ssize_t ahead, Py_ssize_t slots)
