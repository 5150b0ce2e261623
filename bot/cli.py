"""The ``helpline`` command: demo, serve, chat, content check, advocates, migrate, purge."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import sys
from collections.abc import Callable, Sequence

import uvicorn

from bot.server_options import uvicorn_options
from bot.settings import Settings
from bot.startup import StartupError, check_database, check_services, load_settings, where

Command = Callable[[argparse.Namespace], int]
log = logging.getLogger("bot.cli")


def _settings(mode: str | None = None) -> Settings:
    if mode:
        os.environ["HELPLINE_MODE"] = mode
    if mode == "demo" and not os.environ.get("HELPLINE_SECRET_KEY"):
        # One random key for this demo run, shared with the server started below.
        # Nothing from an earlier run can be linked or decrypted after a restart.
        os.environ["HELPLINE_SECRET_KEY"] = secrets.token_urlsafe(48)
    return load_settings()


def _migrated_settings() -> Settings:
    """Settings for a command that uses the database: it must answer and be migrated."""
    settings = _settings()
    asyncio.run(check_database(settings.database_url, migrate_sqlite=False))
    return settings


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.accounts import add_advocate, enrolment_uri, new_password
    from bot.directory.importer import ensure_sample_loaded
    from bot.helpline import build_helpline
    from bot.i18n import languages
    from bot.logs import configure_logging
    from bot.migrate import migrate_sync
    from bot.states import Role

    # The demo is reached where it listens: its console and simulator check the Origin
    # against the public URL, so a demo on another port must not keep the default one.
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104
    os.environ.setdefault("HELPLINE_PUBLIC_URL", f"http://{shown_host}:{args.port}")
    settings = _settings("demo")
    configure_logging(settings.log_level)
    migrate_sync(settings.database_url)
    helpline = build_helpline(settings)
    password = new_password()

    async def create() -> str:
        try:
            await ensure_sample_loaded(helpline.sessions)
            _, secret = await add_advocate(
                helpline.sessions,
                helpline.sealer("totp-secret"),
                name="demo",
                password=password,
                role=Role.SUPERVISOR,
                # Every language (a regional variant is read by its base language's readers).
                languages=tuple(item.code for item in languages() if item.base is None),
                replace=True,
            )
        finally:
            await helpline.db.dispose()
        return secret

    secret = asyncio.run(create())
    base = f"http://{args.host}:{args.port}"
    print(
        "\nHelp line demo (SQLite, in-process relay; data in "
        f"{settings.database_url.split('///')[-1]})\n"
        f"  Simulator (a phone in your browser): {base}/simulator\n"
        f"  Advocate console:                    {base}/console\n"
        "  Referral directory: the fictional sample services (content/referrals/sample)\n"
        f"  Demo login: demo / {password}\n"
        f"  TOTP secret: {secret}  (enrolment: {enrolment_uri('demo', secret)})\n"
        "  The console's login page shows the demo account's current code in demo mode.\n"
        "  Press Ctrl+C to stop.\n",
        flush=True,
    )
    return _serve(settings, args.host, args.port, workers=1)


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings()
    if args.workers > 1 and not settings.redis_url:
        # Without Redis each worker would relay only its own people and advocates, and
        # keep its own memory of them: one help line needs one process or a shared relay.
        print(
            "error: --workers above 1 needs HELPLINE_REDIS_URL (see docs/deploy.md)",
            file=sys.stderr,
        )
        return 2
    if args.telegram_polling:
        if args.workers > 1:
            # Telegram allows one getUpdates caller per bot; a second worker would conflict.
            print("error: --telegram-polling runs with one worker only", file=sys.stderr)
            return 2
        os.environ["HELPLINE_TELEGRAM_POLLING"] = "1"
    # On the embedded SQLite default, serve migrates as demo does; elsewhere it says how.
    asyncio.run(check_services(settings, migrate_sqlite=True))
    return _serve(settings, args.host, args.port, workers=args.workers)


def _serve(settings: Settings, host: str, port: int, *, workers: int) -> int:
    from bot.logs import configure_logging
    from bot.metrics import MULTIPROC_ENV, prepare_multiprocess
    from bot.startup import public_url_mismatch

    configure_logging(settings.log_level)
    mismatch = public_url_mismatch(settings, host, port)
    if mismatch:
        print(f"warning: {mismatch}", file=sys.stderr, flush=True)
    log.info(
        "help line listening on %s:%d workers=%d public_url=%s",
        host,
        port,
        workers,
        settings.public_url,
    )
    _place_index_ready()
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        # Workers share one port, so /metrics must sum them all (see bot/metrics.py).
        prepare_multiprocess()
    uvicorn.run(
        "bot.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        **uvicorn_options(),
    )
    return 0


def _place_index_ready() -> None:
    """Build the place index now, once per machine, so no person's first search waits for it."""
    from bot.place_index import ensure_built

    try:
        ensure_built()
    except OSError as error:
        # The first search builds it instead (or says a place was not recognised).
        log.warning("place index not built error=%s", type(error).__name__)


def cmd_chat(_: argparse.Namespace) -> int:
    from bot.terminal import chat

    return asyncio.run(chat(_settings("demo")))


def cmd_content_eval(args: argparse.Namespace) -> int:
    from bot.understanding.evaluate import evaluate, report

    text, ok = report(evaluate(), verbose=args.verbose)
    print(text)
    return 0 if ok else 1


def cmd_content_check(args: argparse.Namespace) -> int:
    from bot.content_check import run

    return run(verbose=args.verbose)


def cmd_advocate_add(args: argparse.Namespace) -> int:
    from bot.accounts import AccountError, add_advocate, enrolment_uri, new_password
    from bot.helpline import build_helpline
    from bot.states import Role

    settings = _migrated_settings()
    helpline = build_helpline(settings)
    password = args.password or os.environ.get("HELPLINE_NEW_PASSWORD") or new_password()
    languages = tuple(code.strip() for code in args.languages.split(",") if code.strip())

    async def create() -> str:
        try:
            _, secret = await add_advocate(
                helpline.sessions,
                helpline.sealer("totp-secret"),
                name=args.name,
                password=password,
                role=Role(args.role),
                languages=languages,
                replace=args.reset,
            )
        finally:
            await helpline.db.dispose()
        return secret

    try:
        secret = asyncio.run(create())
    except AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Advocate {args.name!r} ({args.role}, languages {','.join(languages)})")
    if not args.password:
        print(f"Password: {password}")
    print(
        f"TOTP enrolment URI (scan or paste into an authenticator app):\n{enrolment_uri(args.name, secret)}"
    )
    return 0


def cmd_telegram_set_webhook(_: argparse.Namespace) -> int:
    from bot.channels.telegram import set_webhook_command

    return asyncio.run(set_webhook_command(_settings()))


def cmd_directory_import(args: argparse.Namespace) -> int:
    from bot.directory.importer import import_command

    return asyncio.run(import_command(_migrated_settings(), args.path))


def cmd_migrate(_: argparse.Namespace) -> int:
    from bot.migrate import migrate_sync

    settings = _settings()
    try:
        migrate_sync(settings.database_url)
    except Exception as error:
        raise StartupError(
            f"migrating {where(settings.database_url)} failed ({type(error).__name__}); "
            "check HELPLINE_DATABASE_URL and that the server is running"
        ) from None
    print("database is at the newest schema")
    return 0


def cmd_purge(_: argparse.Namespace) -> int:
    from bot.retention import purge_now

    return asyncio.run(purge_now(_migrated_settings()))


def cmd_report(args: argparse.Namespace) -> int:
    from bot.counts import report_command

    return asyncio.run(report_command(_migrated_settings(), days=args.days))


def cmd_doctor(_: argparse.Namespace) -> int:
    from bot.doctor import doctor

    return asyncio.run(doctor(_settings()))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helpline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="serve on SQLite with a demo advocate and the simulator")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(run=cmd_demo)

    serve = sub.add_parser("serve", help="serve with settings from the environment")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--telegram-polling",
        action="store_true",
        help="poll Telegram instead of a webhook (development)",
    )
    serve.set_defaults(run=cmd_serve)

    sub.add_parser("chat", help="talk to the bot in this terminal, as an SMS user").set_defaults(
        run=cmd_chat
    )

    content = sub.add_parser("content", help="content tools").add_subparsers(
        dest="content_command", required=True
    )
    check = content.add_parser("check", help="validate every locale and report SMS segments")
    check.add_argument("--verbose", action="store_true", help="print every reply's segment count")
    check.set_defaults(run=cmd_content_check)
    scoring = content.add_parser("eval", help="score understanding on the example corpus")
    scoring.add_argument("--verbose", action="store_true", help="list what was misunderstood")
    scoring.set_defaults(run=cmd_content_eval)

    advocate = sub.add_parser("advocate", help="console accounts").add_subparsers(
        dest="advocate_command", required=True
    )
    add = advocate.add_parser("add", help="create an advocate and print the TOTP enrolment")
    add.add_argument("name")
    add.add_argument("--role", choices=["advocate", "supervisor", "admin"], default="advocate")
    add.add_argument("--languages", default="en", help="comma-separated codes, e.g. en,es")
    add.add_argument("--password", help="set this password (default: generate one and print it)")
    add.add_argument(
        "--reset", action="store_true", help="reset an existing advocate's password and TOTP"
    )
    add.set_defaults(run=cmd_advocate_add)

    telegram = sub.add_parser("telegram", help="Telegram tools").add_subparsers(
        dest="telegram_command", required=True
    )
    webhook = telegram.add_parser(
        "set-webhook", help="register the webhook and the command menu in every language"
    )
    webhook.set_defaults(run=cmd_telegram_set_webhook)

    directory = sub.add_parser("directory", help="referral directory").add_subparsers(
        dest="directory_command", required=True
    )
    load = directory.add_parser(
        "import", help="import an HSDS 3.0 data package (CSV + datapackage.json) or JSON"
    )
    load.add_argument("path")
    load.set_defaults(run=cmd_directory_import)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(run=cmd_migrate)
    sub.add_parser("purge", help="apply the retention rules now").set_defaults(run=cmd_purge)
    sub.add_parser(
        "doctor",
        help="check settings, database revision, Redis, Telegram webhook, Twilio credentials",
    ).set_defaults(run=cmd_doctor)
    report = sub.add_parser("report", help="daily aggregate counts as CSV (counts under 5 hidden)")
    report.add_argument("--days", type=int, default=30)
    report.set_defaults(run=cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Command = args.run
    try:
        return command(args)
    except StartupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        # Exception messages can quote SQL parameters, URLs or what someone wrote.
        print(
            f"error: {args.command} failed ({type(error).__name__}); "
            "run `helpline doctor` to check the set-up",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
