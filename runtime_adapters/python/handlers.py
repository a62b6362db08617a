"""Finding a function's handler, telling sync from async, and reporting its failures.

Shared by the worker process and the in-memory fake runtime; cheap to import.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime_adapters.python.events import Context

Handler = Callable[[Any, "Context"], Any]

# Leading traceback frames from these places are the runtime's, not the function's.
_NOT_THE_FUNCTIONS = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,  # runtime_adapters/
    os.path.dirname(os.path.abspath(os.__file__)) + os.sep,  # the standard library
    "<frozen ",  # importlib
)
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE, without importing inspect


class UnusableHandler(Exception):
    """`handler` names nothing that can serve (a module or attribute that is not there,
    an object that is not callable, an app of the other interface): the setting is wrong,
    not the code, so the error names the key and carries no traceback (it would show
    only the runtime's own frames)."""


class HandlerNotFound(UnusableHandler, LookupError):
    """The handler's module or function does not exist."""


def resolve_handler(spec: str) -> Handler:
    """Import "module.function" (module paths may be dotted) and return the callable."""
    module_name, _, attr = spec.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"handler {spec!r} must be 'module.function'")
    module = _import(module_name)
    handler = getattr(module, attr, None)
    if handler is None:
        where = _relative(getattr(module, "__file__", None) or module_name)
        raise HandlerNotFound(f"{where} has no attribute {attr!r}")
    if not callable(handler):
        raise UnusableHandler(f"handler {spec!r} is a {type(handler).__name__}, not a function")
    return handler  # type: ignore[no-any-return]


def resolve_app(spec: str, interface: str) -> Any:
    """Import "module:app" (both sides may be dotted, as uvicorn takes them) and return
    the app, which must be callable."""
    module_name, _, path = spec.partition(":")
    app: Any = _import(module_name)
    for attr in path.split("."):
        found = getattr(app, attr, _MISSING)
        if found is _MISSING:
            where = getattr(app, "__file__", None) or getattr(app, "__name__", None) or repr(app)
            raise HandlerNotFound(f"{_relative(where)} has no attribute {attr!r}")
        app = found
    if not callable(app):
        raise UnusableHandler(
            f"handler {spec!r} is a {type(app).__name__}, not a callable {interface.upper()} app"
        )
    return app


_MISSING = object()


def _import(module_name: str) -> Any:
    try:
        __import__(module_name)
    except ModuleNotFoundError as exc:
        # Only the handler's own module (or a package above it) missing; a module that
        # its code imports and cannot find is the function's error, with its traceback.
        if exc.name and (module_name + ".").startswith(exc.name + "."):
            raise HandlerNotFound(f"no module named {module_name!r}") from None
        raise
    return sys.modules[module_name]


def resolve_web_app(spec: str, interface: str, *, threads: int) -> Handler:
    """The app `spec` names, wrapped to be called like a handler (asgi.py, wsgi.py)."""
    app = resolve_app(spec, interface)
    is_async = is_coroutine_function(app)
    if interface == "asgi":
        if not is_async:
            raise UnusableHandler(
                f"handler {spec!r} is not an ASGI 3 app (neither it nor its __call__ is"
                " async def); a WSGI app such as Flask's takes interface: wsgi"
            )
        from runtime_adapters.python.asgi import AsgiApp

        return AsgiApp(app)
    if is_async:
        raise UnusableHandler(
            f"handler {spec!r} is an ASGI app (its __call__ is async def): use interface: asgi"
        )
    from runtime_adapters.python.wsgi import WsgiApp

    return WsgiApp(app, threads=threads)


def _relative(path: str) -> str:
    """A module file as the function's author names it: relative to the code directory."""
    base = os.getcwd() + os.sep
    return path[len(base) :] if path.startswith(base) else path


def is_coroutine_function(handler: object) -> bool:
    code = getattr(handler, "__code__", None)
    if code is None:  # a callable object: look at its __call__
        code = getattr(type(handler).__call__, "__code__", None)
    return code is not None and bool(code.co_flags & _CO_COROUTINE)


def format_exception(exc: BaseException) -> str:
    """The traceback as the function's author wants it: starting at their own code."""
    import traceback

    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_NOT_THE_FUNCTIONS):
        tb = tb.tb_next
    if tb is None and not isinstance(exc, SyntaxError):
        # Nothing of the function's own: show everything rather than nothing. A
        # SyntaxError needs no frames: it carries the function's file, line and caret.
        tb = exc.__traceback__
    return "".join(traceback.format_exception(type(exc), exc, tb))


def describe_exception(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
