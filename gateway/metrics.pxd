# Cython's declarations for metrics.py (compiled when the build finds Cython; see
# setup.py): the invocation counters a spliced request adds to, at C level. metrics.py
# stays the source and runs as it is without them.
from runtime_adapters.histogram cimport Histogram


cdef class RevisionMetrics:
    cdef public str function
    cdef public object revision
    cdef public str alias
    cdef public dict codes
    cdef public Histogram latency
    cdef public dict shed

    cpdef observe(self, object code, double seconds, Py_ssize_t count=*)
    cpdef refused(self, str reason)
