"""Errors about a user's input that the tools report as one line, not a traceback."""


class InputError(RuntimeError):
    """Input objcon cannot use (a cache, a dataset folder, a file): the message
    says what is wrong and how to fix it."""
