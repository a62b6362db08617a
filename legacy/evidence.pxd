# Cython's declarations for evidence.py (compiled when the build finds Cython; see
# setup.py): the windows every request of a ledger route records into, as C structs with
# C-level calls from the book to the tallies and their histograms. evidence.py stays the
# source and runs as it is without them.
from legacy.discovery.table cimport DiscoveryTable
from legacy.quantiles cimport LatencyHistogram


cpdef bint is_error(int status)


cdef class SideTally:
    cdef public Py_ssize_t requests
    cdef public Py_ssize_t errors
    cdef public LatencyHistogram latency

    cpdef record(self, int status, double duration_s)


cdef class RouteEvidence:
    cdef public double since
    cdef public Py_ssize_t requests
    cdef public Py_ssize_t served_by_function
    cdef public SideTally legacy
    cdef public SideTally function
    cdef public Py_ssize_t samples
    cdef public Py_ssize_t mismatches
    cdef public Py_ssize_t shadow_dropped
    cdef public Py_ssize_t shadow_skipped
    cdef public object noise
    cdef public object example


cdef class EvidenceBook:
    cdef dict _routes
    cdef DiscoveryTable _discovery
    cdef public Py_ssize_t requests
    cdef public Py_ssize_t served_by_function

    cpdef unmatched(self, str method, str path, int status, double duration_s)
    cpdef answered_by_legacy(self, RouteEvidence window, int status, double duration_s)
