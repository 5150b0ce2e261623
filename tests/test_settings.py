"""Settings refuse to start the help line with an unsafe secret."""

import pytest

from bot.settings import DEMO_SECRET_PLACEHOLDER, Settings


def test_serve_mode_refuses_to_start_without_a_secret_key() -> None:
    with pytest.raises(ValueError, match="HELPLINE_SECRET_KEY is required"):
        Settings.model_validate({"HELPLINE_MODE": "serve", "HELPLINE_SECRET_KEY": ""})


def test_serve_mode_refuses_the_demo_placeholder_and_short_keys() -> None:
    with pytest.raises(ValueError):
        Settings.model_validate(
            {"HELPLINE_MODE": "serve", "HELPLINE_SECRET_KEY": DEMO_SECRET_PLACEHOLDER}
        )
    with pytest.raises(ValueError, match="at least"):
        Settings.model_validate({"HELPLINE_MODE": "serve", "HELPLINE_SECRET_KEY": "short"})


def test_demo_mode_gets_a_fresh_random_key_each_time() -> None:
    first = Settings.model_validate({"HELPLINE_MODE": "demo"})
    second = Settings.model_validate({"HELPLINE_MODE": "demo"})
    assert len(first.secret_key.get_secret_value()) >= 32
    assert first.secret_key.get_secret_value() != second.secret_key.get_secret_value()


def test_secret_is_never_shown_in_the_settings_repr() -> None:
    secret = "a-very-long-secret-value-that-must-not-leak-0123456789"
    settings = Settings.model_validate({"HELPLINE_MODE": "serve", "HELPLINE_SECRET_KEY": secret})
    assert secret not in repr(settings)


def test_a_refused_secret_is_not_echoed_in_the_error() -> None:
    with pytest.raises(ValueError) as refused:
        Settings.model_validate(
            {"HELPLINE_MODE": "serve", "HELPLINE_SECRET_KEY": "tooshort-but-secret"}
        )
    assert "tooshort-but-secret" not in str(refused.value)


def test_a_hosts_plain_database_url_is_used_with_the_async_driver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HELPLINE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example:5432/helpline")
    settings = Settings.model_validate({"HELPLINE_MODE": "test"})
    assert settings.database_url == "postgresql+asyncpg://u:p@db.example:5432/helpline"


def test_the_helpline_setting_wins_over_the_hosts_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPLINE_DATABASE_URL", "sqlite+aiosqlite:///./x.db")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example:5432/helpline")
    assert Settings(HELPLINE_MODE="test").database_url == "sqlite+aiosqlite:///./x.db"  # type: ignore[call-arg]


def test_menu_concurrency_refuses_a_worker_that_would_answer_no_menu_text() -> None:
    with pytest.raises(ValueError, match="HELPLINE_MENU_CONCURRENCY"):
        Settings.model_validate({"HELPLINE_MODE": "test", "HELPLINE_MENU_CONCURRENCY": "0"})
    settings = Settings.model_validate({"HELPLINE_MODE": "test", "HELPLINE_MENU_CONCURRENCY": "3"})
    assert settings.menu_concurrency == 3
