# httpkit/headbytes.py's `head` in C, cimported under that module's name by the compiled
# modules that build a head per request (exchange.pxd): the head sized first, made once as
# bytes and each part copied in. No .py beside it: setup.py compiles nothing for it, and
# headbytes.py stays the source of what it does (tests/httpkit/test_headbytes.py).
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.string cimport memcpy


cdef inline char* _put(char* at, bytes part):
    cdef Py_ssize_t size = len(part)
    memcpy(at, PyBytes_AS_STRING(part), size)
    return at + size


cdef inline bytes head(bytes first, bytes second, bytes third, list fields, bytes fourth,
                       bytes last):
    cdef Py_ssize_t size
    cdef object field
    cdef bytes name
    cdef bytes value
    cdef bytes made
    cdef char* at
    if first is None or second is None or third is None or fourth is None or last is None:
        raise TypeError("a head's parts must be bytes, not None")
    size = len(first) + len(second) + len(third) + len(fourth) + len(last)
    for field in fields:
        # Checked as b"".join checks them: a field that is not two bytes is a TypeError.
        name, value = <tuple?>field
        if name is None or value is None:
            raise TypeError("a head's field names and values must be bytes, not None")
        size += len(name) + len(value) + 4
    made = PyBytes_FromStringAndSize(NULL, size)
    at = PyBytes_AS_STRING(made)
    at = _put(at, first)
    at = _put(at, second)
    at = _put(at, third)
    for field in fields:
        name, value = <tuple>field
        at = _put(at, name)
        at[0] = b':'
        at[1] = b' '
        at = _put(at + 2, value)
        at[0] = b'\r'
        at[1] = b'\n'
        at += 2
    at = _put(at, fourth)
    _put(at, last)
    return made
