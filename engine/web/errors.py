"""One place maps errors to HTTP answers, all in one JSON shape: ``{"error": {status, code, message, details}}``."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import LoomworkError

log = logging.getLogger("loomwork")


def error_body(status: int, code: str, message: str, details: list | None = None) -> dict:
    return {"error": {"status": status, "code": code, "message": message, "details": details or []}}


def install(app: FastAPI) -> None:
    @app.exception_handler(LoomworkError)
    async def _loomwork(request: Request, exc: LoomworkError) -> JSONResponse:
        if exc.status in (401, 403, 429):
            log.warning("refused %s %s: %s", request.method, request.url.path, exc.message)
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in e.get("loc", ())[1:]) or "_body", "message": e.get("msg", ""),
                    "code": e.get("type", "invalid")} for e in exc.errors()]
        return JSONResponse(error_body(422, "validation_failed", "invalid request", details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(exc.status_code, code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        # a client value the database cannot hold (a number past 64 bits, a NUL byte): the client's mistake, not
        # ours; answered without the database's words
        log.warning("refused value on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return JSONResponse(error_body(400, "bad_request", "a value in the request is out of range or not storable"),
                            status_code=400)

    @app.exception_handler(OperationalError)
    @app.exception_handler(DisconnectionError)
    @app.exception_handler(PoolTimeout)
    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        if not database_unavailable(exc):
            return _internal_error(request)
        # the database is down, restarting or saturated: nothing was written (the transaction rolled back), so the
        # client may retry; answered without the driver's words
        log.error("database unavailable on %s %s: %s", request.method, request.url.path,
                  str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        return JSONResponse(error_body(503, "unavailable", "the database is not available; try again shortly"),
                            status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        return _internal_error(request)


def _internal_error(request: Request) -> JSONResponse:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return JSONResponse(error_body(500, "internal", "internal error; the administrator can find it in the log"),
                        status_code=500)


#: PostgreSQL error classes meaning "not reachable now": connection exceptions (08…), shutting down or starting
#: (57P01–57P03), too many connections (53300)
UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")


def database_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or is busy (retry later), as opposed to a fault in a statement."""
    if isinstance(exc, (DisconnectionError, PoolTimeout)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None)
    if state:
        return str(state).startswith(UNAVAILABLE_STATES)
    if type(orig).__module__.split(".")[0] == "psycopg":
        return True  # an OperationalError without a SQLSTATE: the connection itself failed (refused, reset)
    return "database is locked" in str(orig)  # SQLite's busy timeout ran out
