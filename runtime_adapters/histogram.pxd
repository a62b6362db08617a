# Cython's declarations for histogram.py (compiled when the build finds Cython; see
# setup.py): an observation per request at C level. histogram.py stays the source and
# runs as it is without them.
cimport cython


cdef class Histogram:
    cdef public tuple bounds
    cdef public list counts
    cdef public double total

    @cython.locals(bounds=tuple, low=Py_ssize_t, high=Py_ssize_t, middle=Py_ssize_t, bound=double)
    cpdef observe(self, double value, Py_ssize_t count=*)
