"""`GET /healthz`: 200 when the database and Redis answer, 503 naming the one that does not."""

from __future__ import annotations

from flask import Flask

from connector import create_app


def test_healthy_when_both_answer(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_503_when_redis_is_down(app_env: dict[str, str]) -> None:
    app = create_app({**app_env, "REDIS_URL": "redis://127.0.0.1:1/0"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json is not None
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["redis"].startswith("down: ")


def test_503_when_the_database_is_down(app_env: dict[str, str]) -> None:
    app = create_app({**app_env, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/test"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json is not None
    assert response.json["checks"] == {"database": "down: OperationalError", "redis": "ok"}


def test_without_shopify_settings_the_shopify_routes_say_what_to_set(app: Flask) -> None:
    client = app.test_client()
    for method, path in (
        ("get", "/shopify/install?shop=a.myshopify.com"),
        ("get", "/shopify/callback"),
        ("get", "/shopify/app"),
        ("post", "/webhooks/shopify"),
    ):
        response = getattr(client, method)(path)
        assert response.status_code == 503
        assert (
            response.json["message"]
            == "Shopify is not configured: set SHOPIFY_API_KEY and SHOPIFY_API_SECRET"
        )
    assert client.get("/healthz").status_code == 200
    assert client.get("/login").status_code == 200  # everything else works
    assert client.get("/woocommerce/connect").status_code == 302  # to sign in first
