# Cython's declarations for headers.py (compiled when the build finds Cython; see
# setup.py): end_to_end's loop over C-typed containers, run twice per spliced request
# and called at C level by the modules that cimport end_to_end_without.
# headers.py stays the source and runs as it is without them.
cimport cython

cdef frozenset _HOP_BY_HOP
cdef dict _TABLES
cdef Py_ssize_t _SETS_KEPT
cdef Py_ssize_t _SHORT
cdef Py_ssize_t _NAMES_KEPT
cdef dict _CONNECTION_NAMES
cdef int _P


@cython.locals(
    table=list, kept=list, named=frozenset, passed=list, name=bytes,
    size=Py_ssize_t, dropped=bint, candidate=bytes, listed=frozenset,
)
cpdef list end_to_end_without(headers, frozenset also_drop)

@cython.locals(table=list, rows=list, name=bytes)
cdef list _dropped_by_length(frozenset also_drop)

@cython.locals(listed=frozenset)
cdef frozenset _connection_names(bytes value)
