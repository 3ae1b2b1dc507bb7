"""LOG_FORMAT=json: one JSON object per line with the request's id, operation, outcome and
duration, and nothing secret; plain text stays the default."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import orjson
import pytest

from app.factory import create_app
from core.logging import configure_logging
from core.settings import Settings
from tests.accounts import LOGIN, REGISTER
from tests.support import served

PASSWORD = "a very secret passphrase 42"


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging("info", "json", stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


async def test_json_lines_carry_the_request_and_no_secret(settings: Settings, json_logs: io.StringIO) -> None:
    json_settings = settings.model_copy(update={"log_format": "json"})
    async with served(create_app(json_settings)) as running, httpx.AsyncClient(base_url=running.url) as http:
        variables = {"email": "json-logs@example.com", "password": PASSWORD, "name": "J"}
        registered = await http.post(
            "/graphql",
            json={"query": REGISTER.replace("mutation(", "mutation SignUp("), "variables": variables},
        )
        assert registered.status_code == 200
        wrong = {"email": "json-logs@example.com", "password": PASSWORD + "!"}
        signed_in = await http.post(
            "/graphql", json={"query": LOGIN.replace("mutation(", "mutation SignIn("), "variables": wrong}
        )
        assert signed_in.json()["data"]["login"]["userErrors"]
        logging.getLogger("tests").error("boom", exc_info=ValueError("a failure"))
    text = json_logs.getvalue()
    assert PASSWORD not in text and "json-logs@example.com" not in text
    lines = [orjson.loads(line) for line in text.splitlines() if line.strip()]
    assert all({"timestamp", "level", "logger", "message", "request_id"} <= line.keys() for line in lines)
    requests = {line["operation_name"]: line for line in lines if "operation_name" in line}
    sign_in = requests["SignIn"]
    assert sign_in["request_id"] == signed_in.headers["x-request-id"]
    assert sign_in["operation_type"] == "mutation" and sign_in["outcome"] == "ok" and sign_in["status"] == 200
    assert isinstance(sign_in["duration_ms"], float) and sign_in["level"] == "info"
    assert requests["SignUp"]["request_id"] == registered.headers["x-request-id"]
    (failure,) = [line for line in lines if line["message"] == "boom"]
    assert failure["level"] == "error" and "ValueError: a failure" in failure["exception"]


def test_text_is_the_default() -> None:
    assert Settings(_env_file=None).log_format == "text"  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        Settings(_env_file=None, log_format="xml")  # type: ignore[call-arg]
