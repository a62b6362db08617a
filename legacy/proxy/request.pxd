# Cython's declarations for request.py (compiled when the build finds Cython; see
# setup.py). request.py stays the source and runs as it is without them.

cpdef bytes request_target(bytes raw_path, bytes query_string)
