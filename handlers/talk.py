"""Talk to a person: consent, the line, and leaving it."""

from collections.abc import Sequence

from bot.conversation import Conversation, Option, Router
from bot.models import Ticket
from bot.states import State, TicketStatus
from handlers.start import show_main_menu


def consent_options(_: Conversation) -> Sequence[Option]:
    return (Option("talk:yes", "option.yes_connect"), Option("talk:no", "option.not_now"))


def queued_options(_: Conversation) -> Sequence[Option]:
    return (Option("talk:leave", "option.leave_queue"),)


async def talk(conversation: Conversation, step: str) -> None:
    """Ask for consent; on yes, join the line; on leave, leave it."""
    conversation.topic = "talk"
    if step == "yes":
        await join(conversation)
    elif step == "no":
        show_main_menu(conversation)
    elif step == "leave":
        await leave(conversation)
    elif conversation.contact.ticket_id is not None:
        await tell_place(conversation)
    else:
        conversation.show_menu(State.TALK_CONSENT, "talk.consent", consent_options(conversation))


async def join(conversation: Conversation) -> None:
    if conversation.contact.ticket_id is None:
        session = conversation.session
        await conversation.queue.open_ticket(
            session,
            contact=conversation.contact,
            address=conversation.inbound.address,
            urgent=conversation.urgent,
            now=conversation.now,
        )
        conversation.queue_changed = True
        conversation.topic = "talk_joined"
    await tell_place(conversation)


async def tell_place(conversation: Conversation) -> None:
    ticket = await conversation.session.get(Ticket, conversation.contact.ticket_id)
    if ticket is None or ticket.status == TicketStatus.CLOSED:
        show_main_menu(conversation)
        return
    if ticket.status == TicketStatus.ACTIVE:
        conversation.contact.state = State.CONNECTED
        conversation.say("talk.connected")
        return
    place = await conversation.queue.place(conversation.session, ticket, conversation.now)
    hold = str(conversation.settings.queue_hold_seconds // 60)
    if place.advocates_online == 0:
        conversation.say("talk.no_advocate", minutes=hold)
        if conversation.country.talk_line() is None:  # say so rather than name a wrong line
            conversation.say("hotlines.no_talk_line")
    elif place.speakers_online == 0 and ticket.language != "en":
        conversation.say("talk.no_language", minutes=hold)
    conversation.contact.last_queue_notice = conversation.now
    conversation.contact.state = State.QUEUED
    conversation.say_text(
        conversation.t(
            "talk.queued",
            **conversation.standard_params(),
            position=str(place.position),
            minutes=str(place.wait_minutes),
        ),
        [],
    )


async def leave(conversation: Conversation) -> None:
    ticket_id = conversation.contact.ticket_id
    if ticket_id is not None:
        ticket = await conversation.session.get(Ticket, ticket_id)
        if ticket is not None and ticket.status != TicketStatus.CLOSED:
            await conversation.queue.leave(conversation.session, ticket, conversation.now)
            conversation.queue_changed = True
        conversation.contact.ticket_id = None
        conversation.say("talk.left")
    show_main_menu(conversation)


async def waiting(conversation: Conversation) -> bool:
    """Anything written while in line is not passed on: say so, kindly."""
    conversation.say("talk.still_waiting")
    return True


def register(router: Router) -> None:
    router.action("talk", talk)
    router.menu(State.TALK_CONSENT, consent_options, "talk.consent")
    router.menu(State.QUEUED, queued_options)
    router.text(State.QUEUED, waiting)
