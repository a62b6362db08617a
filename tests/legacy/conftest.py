from tests.gateway.conftest import control, gaia_file, runtime, store

__all__ = ["control", "gaia_file", "runtime", "store"]
