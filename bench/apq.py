"""Workload 6, the CDN path (issue 18, point 6): the catalog page as an Automatic Persisted Query
over GET, then a CDN's or browser's revalidation of it (If-None-Match, answered 304).

A CDN in front of the server answers most of these itself for CATALOG_HTTP_MAX_AGE seconds; what
the server still sees is the first GET of each page (6a: the hash alone, answered from the
catalog answer cache) and revalidations once the copy is stale (6b: 304, no body).
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

import httpx
import orjson

from bench import workloads
from bench.loadgen import Get, LoadSpec
from bench.measure import Measurer
from bench.processes import AppServer
from bench.report import Row

NAME = "7. catalog page as a persisted query over GET"


def _path() -> str:
    sha256 = hashlib.sha256(workloads.CATALOG_PAGE.encode()).hexdigest()
    extensions = orjson.dumps({"persistedQuery": {"version": 1, "sha256Hash": sha256}}).decode()
    return "/graphql?" + urlencode({"extensions": extensions})


def run_apq(server: AppServer, client: httpx.Client, measurer: Measurer) -> list[Row]:
    path = _path()
    sha256 = hashlib.sha256(workloads.CATALOG_PAGE.encode()).hexdigest()
    register = {
        "query": workloads.CATALOG_PAGE,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256}},
    }
    registered = client.post("/graphql", json=register)
    first = client.get(path, headers={"accept": "application/json"})
    etag = first.headers.get("etag")
    if registered.status_code != 200 or first.status_code != 200 or "errors" in first.json() or not etag:
        note = f"failed: APQ GET answered {first.status_code} {first.text[:120]!r}, ETag {etag!r}"
        return [Row(NAME, note=note, failed=True)]
    cache_control = first.headers.get("cache-control", "")
    rows = []
    for label, headers, expected in (
        ("6a. hash only, 200 with ETag", (("Accept", "application/json"),), 200),
        (
            "6b. revalidation, If-None-Match: 304",
            (("Accept", "application/json"), ("If-None-Match", etag)),
            304,
        ),
    ):
        check = client.get(path, headers=dict(headers))
        if check.status_code != expected:
            rows.append(Row(f"{NAME}, {label}", note=f"failed: answered {check.status_code}", failed=True))
            continue
        measurer.log(f"{NAME}, {label}")
        spec = LoadSpec(path, Get(headers))
        measured = measurer.measure(server.url, lambda spec=spec: spec, server.process.pid)
        note = f"Cache-Control: {cache_control}; {len(first.content):,} bytes on 200, none on 304"
        rows.append(Row(f"{NAME}, {label}", measured, "0 (cached answer)", note))
    return rows
