"""Schemathesis against the running application: generated valid and invalid operations for every
Query and Mutation field. No answer may be a 5xx, an INTERNAL_SERVER_ERROR, or show a traceback or SQL.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

from app.factory import create_app
from core.settings import Settings
from tests.accounts import PASSWORD
from tests.support import NO_RATE_LIMITS, serve_in_thread, sql

EXAMPLES_PER_FIELD_AND_MODE = 40
EXAMPLES_PER_FIELD_AS_STAFF = 20
MINIMUM_OPERATIONS = 1_000
LEAKS = ("Traceback", 'File "', "asyncpg", "sqlalchemy", "[SQL", "SELECT ", "INSERT INTO", "UPDATE ")
load_all_checks()
# Schemathesis' own check that answers are JSON objects that keep to the schema (no null in a
# non-null field, ...). Its "GraphQL server error" check is not used: it counts every error raised
# while executing as the server's fault, where the contract makes UNAUTHENTICATED, FORBIDDEN and
# BAD_USER_INPUT GraphQL errors. A server error here is a 5xx or INTERNAL_SERVER_ERROR.
SCHEMATHESIS_CHECKS = CHECKS.get_by_names(["response_schema_conformance"])


@pytest.fixture
def served_in_a_thread(settings: Settings) -> Iterator[str]:
    with serve_in_thread(create_app(settings.model_copy(update=NO_RATE_LIMITS))) as url:
        yield url


def assert_no_leak(text: str, label: str) -> None:
    for leak in LEAKS:
        assert leak not in text, f"{label}: {leak!r} in {text[:500]}"


def run_generated_cases(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    session: requests.Session,
    calls: Counter[str],
    *,
    examples: int = EXAMPLES_PER_FIELD_AND_MODE,
    token: str | None = None,
) -> None:
    label = f"{operation.label} ({mode.value}{', staff' if token else ''})"
    headers = {"Authorization": f"Bearer {token}"} if token else None

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: schemathesis.Case) -> None:
        response = case.call(session=session, headers=headers, timeout=30)
        calls[label] += 1
        assert response.status_code < 500, f"{label}: {response.status_code} {response.text[:500]}"
        assert_no_leak(response.text, label)
        case.validate_response(response, checks=SCHEMATHESIS_CHECKS)
        if response.headers.get("content-type") == "application/json":
            errors = response.json().get("errors") or []
            codes = [error.get("extensions", {}).get("code") for error in errors]
            assert "INTERNAL_SERVER_ERROR" not in codes, f"{label}: {response.text[:500]}"

    call()


def staff_token(url: str, database_url: str) -> str:
    answer = requests.post(
        f"{url}/graphql",
        json={
            "query": f'mutation {{ register(email: "staff@example.com", password: "{PASSWORD}", name: "S") {{ accessToken }} }}'
        },
        timeout=30,
    ).json()
    asyncio.run(sql(database_url, "UPDATE users SET is_staff = true WHERE email = 'staff@example.com'"))
    return answer["data"]["register"]["accessToken"]


def test_generated_operations_never_break_the_server(served_in_a_thread: str, database_url: str) -> None:
    schema = schemathesis.graphql.from_url(f"{served_in_a_thread}/graphql")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 24  # 10 queries and 14 mutations
    session = requests.Session()
    calls: Counter[str] = Counter()
    started = time.monotonic()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run_generated_cases(operation, mode, session, calls)
    # Signed in as staff, past the checks that stop strangers, into every resolver.
    staff = staff_token(served_in_a_thread, database_url)
    for operation in operations:
        run_generated_cases(
            operation,
            GenerationMode.POSITIVE,
            session,
            calls,
            examples=EXAMPLES_PER_FIELD_AS_STAFF,
            token=staff,
        )
    elapsed = time.monotonic() - started
    total = sum(calls.values())
    print(f"\nschemathesis: {total} generated operations in {elapsed:.1f}s, by field and mode: {dict(calls)}")
    assert total >= MINIMUM_OPERATIONS, calls
    assert requests.get(f"{served_in_a_thread}/healthz", timeout=10).status_code == 200
