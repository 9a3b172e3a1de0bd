"""Errors a user can act on: the CLI prints them as one line and exits with code 2."""


class IlidError(Exception):
    """A problem with the input or the flags, told in one line that names the file, record and field."""
