"""Talk to a person: consent, the line, the live chat, and leaving them.

Inside a live chat everything typed goes to the person who answers, except three kinds
of words: the live exit word (an unusual word: "bye" is a goodbye to the advocate, not
a quick exit), the forget word (ends the chat and erases), and the end-chat phrase.
What is written while waiting in line is not passed on, and the person is told so.
"""

from collections.abc import Sequence

from bot.conversation import Conversation, Option, Router
from bot.models import Ticket
from bot.payloads import ANY_TIME, Payload, Topic
from bot.states import State, TicketStatus
from bot.understanding import Intent
from handlers.start import show_main_menu

YES, NO, LEAVE = Payload(Topic.TALK, "yes"), Payload(Topic.TALK, "no"), Payload(Topic.TALK, "leave")
LIVE_WORDS = (
    ("keywords.exit_live", Payload(Topic.EXIT)),
    ("keywords.forget", Payload(Topic.FORGET)),
    ("keywords.end_chat", LEAVE),
)


def consent_options(_: Conversation) -> Sequence[Option]:
    return (Option(YES, "option.yes_connect"), Option(NO, "option.not_now"))


def queued_options(_: Conversation) -> Sequence[Option]:
    return (Option(LEAVE, "option.leave_queue"),)


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
            # Danger or exploitation described earlier this session still counts.
            urgent=conversation.urgent or conversation.contact.concern,
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
    # With nobody online there is no honest wait to promise in minutes.
    key = "talk.queued.no_wait" if place.advocates_online == 0 else "talk.queued"
    conversation.say(key, position=str(place.position), minutes=str(place.wait_minutes))


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


async def live_chat(conversation: Conversation) -> bool:
    """In a live chat, relay what the person writes; act only on the live-chat words."""
    ticket = conversation.ticket
    if (
        ticket is None
        or ticket.status != TicketStatus.ACTIVE
        or conversation.contact.state != State.CONNECTED
    ):
        return False
    inbound = conversation.inbound
    choice = Payload.parse(inbound.choice)
    # Buttons and commands are not words for the advocate: only forget and exit act.
    leaving = choice if choice is not None and choice.topic in ANY_TIME else None
    words = conversation.catalogue
    for key, payload in LIVE_WORDS:
        if leaving is None and (
            conversation.said in words.words(key)
            or (words.fallback is not None and conversation.said in words.fallback.words(key))
        ):
            leaving = payload
    if leaving is not None:
        await conversation.router.run(conversation, leaving)
        return True
    await conversation.queue.refresh(
        conversation.session, ticket, inbound.address, conversation.now
    )
    if inbound.choice is None and inbound.text.strip():
        await conversation.queue.relay_from_person(ticket, inbound.text)
        conversation.topic = conversation.topic or "relay"
    return True


async def keep_place(conversation: Conversation) -> bool:
    """The person wrote while in line: keep their place and their reply address."""
    ticket = conversation.ticket
    if ticket is not None:
        await conversation.queue.refresh(
            conversation.session, ticket, conversation.inbound.address, conversation.now
        )
    return False


async def waiting(conversation: Conversation) -> bool:
    """What is written while in line is not passed on: say so plainly (fear still counts)."""
    if conversation.meaning.intent == Intent.FEAR:
        return await conversation.router.run(conversation, Payload(Topic.FEAR))
    conversation.say("talk.waiting_not_passed")
    return True


def register(router: Router) -> None:
    router.pre(live_chat, group=20)
    router.pre(keep_place, group=30)
    router.action(Topic.TALK, talk)
    router.keywords("keywords.leave_queue", LEAVE, when=lambda c: c.contact.ticket_id is not None)
    router.keywords("keywords.talk", Payload(Topic.TALK))
    router.intent(Intent.TALK, Payload(Topic.TALK), label="option.talk")
    router.intent(Intent.YES, YES, state=State.TALK_CONSENT)
    router.intent(Intent.NO, NO, state=State.TALK_CONSENT)
    router.menu(State.TALK_CONSENT, consent_options, "talk.consent")
    router.menu(State.QUEUED, queued_options)
    router.text(State.QUEUED, waiting, before_intents=True)
