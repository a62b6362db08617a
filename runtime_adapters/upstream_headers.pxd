# Cython's declarations for upstream_headers.py (compiled when the build finds Cython;
# see setup.py): called at C level from the trigger's compiled splice.
# upstream_headers.py stays the source and runs as it is without them.
from httpkit.headers cimport end_to_end_without

cpdef list sent_headers(headers, bytes host, frozenset drop=*)
cpdef list passed_headers(list headers, bytes host)
cpdef list passed_answer_headers(list headers)
