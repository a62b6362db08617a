# Cython's declarations for slots.py (compiled when the build finds Cython; see
# setup.py): a slot taken and given back per request at C level, the instances' counts
# read as C integers. slots.py stays the source and runs as it is without them.
cimport cython

from runtime_adapters.admission cimport WaitEstimate


cdef class Slots:
    cdef object _clock
    cdef object _settle
    cdef public bint closed
    cdef public Py_ssize_t concurrency
    cdef public WaitEstimate estimate
    cdef public list ready
    cdef public object waiters

    cpdef take(self)
    @cython.locals(concurrency=Py_ssize_t, in_flight=Py_ssize_t)
    cpdef pick(self)
    cpdef release(self, instance)
    cpdef lent_back(self, instance, double sent_at, bint answered)
