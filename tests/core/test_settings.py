"""Settings: one validated object; placeholders refused outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.settings import Settings


def test_defaults_follow_the_contract():
    settings = Settings(env="development")
    assert settings.database_url == "sqlite:///data/sapa.db"
    assert settings.timezone == "Asia/Jakarta"
    assert settings.line.api_base == "https://api.line.me"
    assert settings.telegram.api_base == "https://api.telegram.org"
    assert settings.broadcasts.max_per_week == 3
    assert settings.webhooks.max_body_bytes == 1_000_000
    assert not settings.line.enabled and not settings.telegram.enabled


def test_environment_overrides_with_double_underscore(monkeypatch):
    monkeypatch.setenv("SAPA_LINE__CHANNEL_SECRET", "s3cret")
    monkeypatch.setenv("SAPA_LINE__ACCESS_TOKEN", "tok")
    monkeypatch.setenv("SAPA_LINE__API_BASE", "http://127.0.0.1:9/")
    monkeypatch.setenv("SAPA_BROADCASTS__QUIET_HOURS", "21:00-08:00")
    settings = Settings()
    assert settings.line.enabled and settings.line.api_base == "http://127.0.0.1:9"
    assert settings.broadcasts.quiet_hours == "21:00-08:00"


def test_placeholder_secrets_refused_in_production():
    with pytest.raises(ValidationError, match="SAPA_SECRET_KEY"):
        Settings(env="production")
    with pytest.raises(ValidationError, match="SAPA_TELEGRAM__SECRET_TOKEN"):
        Settings(env="production", secret_key="x" * 32, telegram={"bot_token": "1:A"})
    ok = Settings(env="production", secret_key="x" * 32, telegram={"bot_token": "1:A", "secret_token": "abcDEF_123"})
    assert ok.simulator_enabled is False


@pytest.mark.parametrize("field,value", [
    ("timezone", "Nowhere/City"), ("database_url", "mysql://x"), ("queue_url", "amqp://x"),
    ("broadcasts", {"quiet_hours": "late"}), ("telegram", {"secret_token": "has space"}),
])
def test_invalid_values_are_refused_with_a_reason(field, value):
    with pytest.raises(ValidationError):
        Settings(**{field: value})


def test_every_config_key_is_documented_in_config_yaml():
    from core.settings import config_path

    text = config_path().read_text()

    def keys(model, prefix=""):
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if hasattr(annotation, "model_fields"):
                yield from keys(annotation, f"{name}.")
            else:
                yield prefix + name

    missing = [key for key in keys(Settings) if f"{key.split('.')[-1]}:" not in text]
    assert missing == []


def test_email_is_off_until_a_host_is_set_and_its_password_comes_only_from_the_environment(monkeypatch, tmp_path):
    assert not Settings().smtp.enabled
    with pytest.raises(ValidationError, match="from_address"):
        Settings(smtp={"host": "mail.shop.test"})
    with pytest.raises(ValidationError):
        Settings(smtp={"host": "mail.shop.test", "from_address": "a@shop.test", "tls": "tls"})
    monkeypatch.setenv("SAPA_SMTP__HOST", "mail.shop.test")
    monkeypatch.setenv("SAPA_SMTP__FROM_ADDRESS", "alerts@shop.test")
    monkeypatch.setenv("SAPA_SMTP__TLS", "ssl")
    monkeypatch.setenv("SAPA_SMTP__PASSWORD", "from-the-environment")
    smtp = Settings().smtp
    assert smtp.enabled and (smtp.tls, smtp.password) == ("ssl", "from-the-environment")
    config = tmp_path / "config.yaml"
    config.write_text("smtp:\n  host: mail.shop.test\n  password: hunter2\n")
    monkeypatch.setenv("SAPA_CONFIG", str(config))
    with pytest.raises(ValueError, match="SAPA_SMTP__PASSWORD"):
        Settings()
