"""The CLI's own error, apart from the admin client so that `gaia` can catch it without
importing an HTTP client."""


class CliError(Exception):
    """Printed as `gaia: <message>` with exit code 1."""
