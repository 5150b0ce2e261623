"""The ASGI entry point for uvicorn workers: ``bot.asgi:app``."""

from bot.allocator import limit_arenas

limit_arenas()  # before create_app starts any thread (bot/allocator.py says why)

from bot.app import create_app  # noqa: E402
from bot.logs import configure_logging  # noqa: E402
from bot.settings import Settings  # noqa: E402

_settings = Settings()
configure_logging(_settings.log_level)
app = create_app(_settings, worker=True)
