"""The gateway's OpenAPI document and the running server agree: routes, examples, and response shapes."""

from __future__ import annotations

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from producers.gateway.app import OPENAPI_FILE, create_app
from producers.gateway.auth import DEMO_KEYS_FILE, KeyRing
from producers.gateway.routes import Context, Limits
from tests.producers.test_gateway import BroadcastMemory, MemorySink

DOC = orjson.loads(OPENAPI_FILE.read_bytes())
BASE = OPENAPI_FILE.resolve().as_uri()
KEYS = {"/v1/broadcasts": "hoso-demo-operator"}
DEFAULT_KEY = "hoso-demo-quangninh"


def _retrieve(uri: str) -> Resource:
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    with open(url2pathname(urlparse(uri).path), "rb") as f:
        return DRAFT202012.create_resource(orjson.loads(f.read()))


REGISTRY = Registry(retrieve=_retrieve).with_resource(BASE, DRAFT202012.create_resource({**DOC, "$id": BASE}))


def pointer(*parts: str) -> str:
    """A reference into the document, so its own relative $refs resolve as in any OpenAPI tool."""
    return BASE + "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def check(instance, ref: str) -> None:
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in Draft202012Validator({"$ref": ref}, registry=REGISTRY).iter_errors(instance)
    ]
    assert not errors, errors


def response_schema(path: str, method: str, status: int) -> str:
    responses = DOC["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} answered {status}, which the document does not list"
    return pointer("paths", path, method, "responses", str(status), "content", "application/json", "schema")


@pytest.fixture
async def client():
    limits = Limits(20_000, 5, 0.5)
    app = create_app(Context(KeyRing.from_file(DEMO_KEYS_FILE), MemorySink(), BroadcastMemory(), limits))
    async with TestClient(TestServer(app)) as c:
        yield c


def app_routes() -> set[tuple[str, str]]:
    app = create_app(Context(KeyRing.from_file(DEMO_KEYS_FILE), MemorySink(), None, Limits(20_000, 5, 0.5)))
    return {
        (r.method.lower(), r.resource.canonical) for r in app.router.routes() if r.method not in ("HEAD", "OPTIONS")
    }


def test_every_route_of_the_app_is_documented_and_every_documented_route_exists():
    documented = {(m, p) for p, ops in DOC["paths"].items() for m in ops}
    assert app_routes() == documented


def test_the_document_is_openapi_3_1_with_bearer_keys():
    assert DOC["openapi"].startswith("3.1")
    assert DOC["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def request_examples() -> list[tuple[str, str, str, object]]:
    out = []
    for path, ops in DOC["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            for name, ex in content.get("examples", {}).items():
                out.append((path, method, name, ex["value"]))
    return out


@pytest.mark.parametrize(("path", "method", "name", "body"), request_examples(), ids=lambda v: str(v)[:40])
def test_each_request_example_matches_its_documented_schema(path, method, name, body):
    check(body, pointer("paths", path, method, "requestBody", "content", "application/json", "schema"))


@pytest.mark.parametrize(("path", "method", "name", "body"), request_examples(), ids=lambda v: str(v)[:40])
async def test_each_request_example_is_accepted_and_the_reply_matches_the_document(client, path, method, name, body):
    headers = {"Authorization": f"Bearer {KEYS.get(path, DEFAULT_KEY)}"}
    r = await client.request(method.upper(), path, json=body, headers=headers)
    reply = await r.json()
    assert r.status == 200, reply
    assert reply["rejected"] == [] and reply["accepted"] >= 1
    check(reply, response_schema(path, method, 200))


ERROR_CASES = [
    ("/v1/dossier-events", {}, b"{}", "application/json", 401),
    ("/v1/dossier-events", {"Authorization": "Bearer hoso-demo-quangninh"}, b"{", "application/json", 400),
    ("/v1/dossier-events", {"Authorization": "Bearer hoso-demo-quangninh"}, b"{}", "text/csv", 415),
    ("/v1/dossier-events", {"Authorization": "Bearer hoso-demo-quangninh"}, b" " * 30_000, "application/json", 413),
    ("/v1/dossier-events", {"Authorization": "Bearer hoso-demo-quangninh"}, b'[{"a": 1}]', "application/json", 422),
    ("/v1/dossier-events", {"Authorization": "Bearer hoso-demo-operator"}, b"{}", "application/json", 403),
    ("/v1/dvcqg/DongBoHoSoMC", {"Authorization": "Bearer hoso-demo-quangninh"}, b"{}", "application/json", 400),
    (
        "/v1/dvcqg/CapNhatTienDoHoSoMC",
        {"Authorization": "Bearer hoso-demo-thanhhoa"},
        b'{"madonvi": "000.00.49.H22", "data": [{}]}',
        "application/json",
        403,
    ),
    (
        "/v1/dvcqg/DongBoHoSoMC",
        {"Authorization": "Bearer hoso-demo-quangninh"},
        b'{"madonvi": "000.00.49.H22", "data": [{"MaHoSo": "x", "TrangThaiHoSo": 99}]}',
        "application/json",
        422,
    ),
    ("/v1/broadcasts", {"Authorization": "Bearer hoso-demo-quangninh"}, b"{}", "application/json", 403),
    ("/v1/broadcasts", {"Authorization": "Bearer hoso-demo-operator"}, b'{"text": ""}', "application/json", 422),
]


@pytest.mark.parametrize(("path", "headers", "data", "ctype", "status"), ERROR_CASES)
async def test_error_responses_have_a_documented_status_and_shape(client, path, headers, data, ctype, status):
    r = await client.post(path, data=data, headers={**headers, "Content-Type": ctype})
    assert r.status == status
    check(await r.json(), response_schema(path, "post", status))


async def test_the_document_is_served_as_is(client):
    r = await client.get("/openapi.json")
    assert r.status == 200 and await r.json() == DOC
