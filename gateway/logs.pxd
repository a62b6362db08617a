# Cython's declarations for logs.py (compiled when the build finds Cython; see setup.py):
# the access line's time and its publishing into the function's ring, once per request,
# at C level. logs.py stays the source and runs as it is without them.
cimport cython


cdef class LogTime:
    cdef double _second
    cdef str _prefix

    @cython.locals(micros=long, second=long, scaled=double, excess=double)
    cpdef str text(self, double epoch)


cdef class _Follower:
    cdef public object dropped
    cdef public object filter
    cdef public object queue

    cpdef offer(self, dict record)


cdef class FunctionLogs:
    cdef Py_ssize_t _capacity
    cdef dict _rings
    cdef dict _followers
    cdef object _loop
    cdef unsigned long _thread
    cdef object __weakref__

    @cython.locals(ring=object, followers=set, follower=_Follower)
    cpdef publish(self, dict record)
