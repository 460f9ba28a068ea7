"""A record's own failure, told from the database's trouble. Writing a record fails either
because of the record (its values refused: a data or integrity error, a value a column
could not convert, or any fault of ours on those values), and then that record alone is
dead-lettered and the rest written; or because of the database (a lost connection, a
broken statement, a full disk), and then the error is raised so the job is retried.
Each failure of a record's gets the sentence a merchant reads, never the driver's text.
"""

from __future__ import annotations

from sqlalchemy import exc as sa

from connector.errors import ConnectorError

_DRIVERS = ("psycopg", "sqlite3")  # psycopg is installed only for PostgreSQL: known by name
_DRIVER_DATA_ERRORS = ("DataError", "IntegrityError")  # PEP 249 names; COPY raises them unwrapped
_VALUE_ERRORS = (ValueError, TypeError, ArithmeticError)  # a column's conversion of a value
# PostgreSQL's SQLSTATE → what was wrong with the record, in words
_STATES = {
    "22001": "a text in it is longer than the CRM store keeps",
    "22003": "a number in it is out of the range the CRM store keeps",
    "22021": "a text in it holds characters the CRM store cannot keep",
    "22P05": "a text in it holds characters the CRM store cannot keep",
    "22P02": "a value in it is not of the kind its field holds",
    "22007": "a date or time in it cannot be read",
    "22008": "a date or time in it is out of range",
    "23502": "a field the CRM store requires is empty",
    "23503": "it refers to a record the CRM store does not hold",
    "23505": "it clashes with a record the CRM store already holds",
    "23514": "a value in it breaks one of the CRM store's rules",
}


def is_database_trouble(error: BaseException) -> bool:
    """True for the database's own failures (connection, statement, resources): retry the
    job. False for a failure of the record being written: set that record aside."""
    if isinstance(error, sa.DataError | sa.IntegrityError):
        return False
    if isinstance(error, sa.DBAPIError):  # operational, programming, internal, interface
        return True
    if isinstance(error, sa.StatementError):  # a bind parameter's conversion failed on a value
        return False
    if isinstance(error, sa.SQLAlchemyError | OSError | MemoryError):  # the pool, a socket
        return True
    return _from_driver(error) and not _driver_data_error(error)


def reason_for(error: BaseException, what: str = "record") -> str:
    """The sentence a dead letter keeps for a record's failure (see `is_database_trouble`)."""
    cause = getattr(error, "orig", None) or error
    if isinstance(cause, ConnectorError):
        return f"the {what} could not be written: {cause.reason}"
    if not (_driver_data_error(cause) or isinstance(cause, _VALUE_ERRORS) or isinstance(error, sa.DataError)):
        return f"the connector failed on this {what}; the fault is in its log for its maintainers"
    return f"the CRM store refused this {what}: {_why(cause)}"


def log_fields(error: BaseException) -> dict[str, str | None]:
    """The error by kind and code, for the log: the driver's text may quote the data."""
    cause = getattr(error, "orig", None) or error
    return {"error": type(cause).__name__, "sqlstate": getattr(cause, "sqlstate", None)}


def _why(cause: BaseException) -> str:
    state = getattr(cause, "sqlstate", None)
    if state in _STATES:
        return _STATES[state]
    text = str(cause)
    if isinstance(cause, OverflowError) or "out of range" in text or "too large" in text:
        return "a number in it is out of the range the CRM store keeps"
    if type(cause).__name__ == "IntegrityError":
        return "it breaks one of the CRM store's rules (a duplicate, a missing reference or a check)"
    if isinstance(cause, UnicodeError) or "surrogates" in text or "NUL" in text:
        return "a text in it holds characters the CRM store cannot keep"
    return "a value in it has a form the CRM store cannot keep"


def _from_driver(error: BaseException) -> bool:
    return any(kind.__module__.split(".")[0] in _DRIVERS for kind in type(error).__mro__[:-2])


def _driver_data_error(error: BaseException) -> bool:
    return any(
        kind.__name__ in _DRIVER_DATA_ERRORS and kind.__module__.split(".")[0] in _DRIVERS
        for kind in type(error).__mro__
    )
