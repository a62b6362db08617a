# Cython's declarations for done.py (compiled when the build finds Cython; see setup.py):
# the record a spliced request's end is told, called at C level. done.py stays the source
# and runs as it is without them.
from gateway.http.splice cimport RequestHead, SpliceOutcome


cdef class SpliceDone:
    cpdef record(self, RequestHead head, SpliceOutcome outcome)
