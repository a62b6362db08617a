# Cython's declarations for histogram.py (compiled when the build finds Cython; see
# setup.py): an observation per request at C level. histogram.py stays the source and
# runs as it is without them.

cdef class Histogram:
    cdef public tuple bounds
    cdef public list counts
    cdef public double total

    cpdef observe(self, double value, Py_ssize_t count=*)
