"""The ASGI entry point for uvicorn workers: ``bot.asgi:app``."""

import threading

from bot.app import create_app
from bot.directory.gazetteer import warm
from bot.logs import configure_logging
from bot.settings import Settings

_settings = Settings()
configure_logging(_settings.log_level)
app = create_app(_settings)
# Build the place-name index (a few seconds) now, not in the first person's search.
threading.Thread(target=warm, name="gazetteer-warm", daemon=True).start()
