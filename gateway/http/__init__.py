"""The data plane's HTTP server: limits on what a connection may send before a request."""
