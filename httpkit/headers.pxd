# Cython's declarations for headers.py (compiled when the build finds Cython; see
# setup.py): end_to_end's loop over C-typed containers, run twice per spliced request.
# headers.py stays the source and runs as it is without them.
cimport cython

cdef frozenset _HOP_BY_HOP
cdef dict _VERDICTS
cdef Py_ssize_t _SETS_KEPT
cdef Py_ssize_t _NAMES_KEPT
cdef dict _CONNECTION_NAMES


@cython.locals(verdicts=dict, kept=list, named=frozenset, name=bytes, dropped=object)
cdef list _end_to_end(headers, frozenset also_drop)

@cython.locals(listed=frozenset)
cdef frozenset _connection_names(bytes value)
