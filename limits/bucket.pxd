# Cython's declarations for bucket.py (compiled when the build finds Cython; see
# setup.py): a bucket's arithmetic in C doubles, and `take` a C-level call for a typed
# caller (the legacy router asks a shadow route's bucket on every request of it).
# bucket.py stays the source and runs as it is without them.


cdef class TokenBucket:
    cdef public double rate
    cdef public double capacity
    cdef double _tokens
    cdef double _at

    cpdef bint holds_one(self, double now)
    cpdef double take(self, double now)
