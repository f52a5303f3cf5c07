"""Domain errors. Each carries a message id (a Vietnamese source string) and its parameters;
the conversation layer translates and formats it for the person."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


class InvalidInput(DomainError):
    """An answer that does not fit the question (bad phone, bad date ...)."""


class NotAllowed(DomainError):
    """The person's role or scope does not allow this."""


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    """The request clashes with data already stored (a phone already registered ...)."""
