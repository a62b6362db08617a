# Cython's declarations for quantiles.py (compiled when the build finds Cython; see
# setup.py): the histogram every request of a ledger route adds to, as a C struct.
# quantiles.py stays the source and runs as it is without them.
cimport cython
# quantiles.py's `math.log` and `math.ceil` as C's, not Python calls: the same functions
# the math module wraps.
from libc cimport math

# C doubles: the arithmetic of each sample's bucket stays in C.
cdef double _GROWTH
cdef double _LOG_GROWTH
cdef double _FLOOR_S


cdef class LatencyHistogram:
    cdef dict _buckets
    cdef public Py_ssize_t count

    @cython.locals(index=Py_ssize_t)
    cpdef add(self, double seconds)
    cpdef quantile(self, double q)
