# Cython's declarations for table.py (compiled when the build finds Cython; see setup.py):
# the table every request no ledger route matches is counted in, and its rows, as C
# structs; the evidence book calls `observe` at C level, and `observe` the row's
# histogram. table.py stays the source and runs as it is without them.
cimport cython
# table.py's `math.isfinite` as C's: the same test the math module wraps.
from libc cimport math

from legacy.quantiles cimport LatencyHistogram


cdef class _Row:
    cdef public str pattern
    cdef public dict methods
    cdef public Py_ssize_t requests
    cdef public Py_ssize_t errors
    cdef public LatencyHistogram latency


cdef class DiscoveryTable:
    cdef public Py_ssize_t limit
    cdef public Py_ssize_t total
    cdef dict _rows
    cdef dict _paths

    @cython.locals(row=_Row, methods=dict)
    cpdef str observe(self, str method, str path, int status, double duration_s, bint failed)
    @cython.locals(pattern=str, row=_Row, known=Py_ssize_t)
    cdef _Row _row(self, str path)
