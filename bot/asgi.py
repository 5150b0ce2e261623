"""The ASGI entry point for uvicorn workers: ``bot.asgi:app``."""

from bot.app import create_app
from bot.logs import configure_logging
from bot.settings import Settings

_settings = Settings()
configure_logging(_settings.log_level)
app = create_app(_settings, worker=True)
