# Cython's declarations for splice_plan.py (compiled when the build finds Cython; see
# setup.py): the plans and the data plane's splicer as C structs, calling each other and
# the trigger's splice at C level. splice_plan.py stays the source and runs as it is
# without them.
cimport cython

from gateway.accesslog cimport JsonLines
from gateway.http.splice cimport RequestHead, Splice, SpliceOutcome, Splicer
from gateway.logs cimport LogTime

cdef LogTime _log_time


cdef class Leg:
    cdef public object key
    cdef public object lend
    cdef public dict log_fields
    cdef public object resolved
    cdef public object runtime

    cpdef relend(self)


cdef class RoutePlan:
    cdef dict _legs
    cdef SplicePlans _plans
    cdef public Leg fixed
    cdef public object route

    cpdef Leg leg(self, resolved)


cdef class SplicePlans:
    cdef dict _routes
    cdef public bint by_host
    cdef public object control
    cdef public bint guarded
    cdef public object invoker
    cdef public dict lines
    cdef public object snapshot
    cdef public bint traced
    cdef public object trigger

    cpdef RoutePlan for_line(self, tuple line)


cdef class PlanSplicer(Splicer):
    cdef public JsonLines _access_log
    cdef public Py_ssize_t _body_limit
    cdef public object _control
    cdef public unsigned long long _counter
    cdef object _error_answer
    cdef public object _fallback
    cdef public str _id_prefix
    cdef public object _invoker
    cdef public SplicePlans _plans
    cdef object _splice_to
    cdef object _trigger

    cpdef str _next_id(self)
    cpdef Splice splice(self, RequestHead head)
    cdef _splice_routed(self, RequestHead head, SplicePlans plans, RoutePlan plan)
    cdef _identify(self, RequestHead head)
    @cython.locals(fields=dict, record=dict)
    cpdef spliced(self, RequestHead head, SpliceOutcome outcome)
    cpdef error_answer(self, error, message, request_id)
