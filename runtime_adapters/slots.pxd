# Cython's declarations for slots.py (compiled when the build finds Cython; see
# setup.py): a slot taken and given back per request at C level, the instances' counts
# in C fields. slots.py stays the source and runs as it is without them.
cimport cython

from runtime_adapters.admission cimport WaitEstimate


cdef class SlotCounts:
    cdef public Py_ssize_t in_flight
    cdef public double last_used
    cdef public object state


cdef class Slots:
    cdef object _clock
    cdef object _settle
    cdef public bint closed
    cdef public Py_ssize_t concurrency
    cdef public WaitEstimate estimate
    cdef public list ready
    cdef public object waiters

    cpdef take(self)
    @cython.locals(concurrency=Py_ssize_t, in_flight=Py_ssize_t, instance=SlotCounts)
    cpdef pick(self)
    cpdef release(self, SlotCounts instance)
    cpdef lent_back(self, SlotCounts instance, double sent_at, bint answered)
