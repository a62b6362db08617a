"""What a render refuses, with a message naming the revision and what would do."""

from __future__ import annotations


class RenderError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
