"""Readable names for tickets, drawn at random: they say nothing about the person."""

import secrets

_ADJECTIVES = (
    "Amber",
    "Blue",
    "Bright",
    "Calm",
    "Clear",
    "Coral",
    "Crimson",
    "Gentle",
    "Golden",
    "Green",
    "Hazel",
    "Ivory",
    "Jade",
    "Kind",
    "Lilac",
    "Misty",
    "Olive",
    "Quiet",
    "Rosy",
    "Silver",
    "Sunny",
    "Swift",
    "Teal",
    "Warm",
)
_NOUNS = (
    "Birch",
    "Brook",
    "Cedar",
    "Cloud",
    "Comet",
    "Dune",
    "Fern",
    "Harbor",
    "Heron",
    "Lark",
    "Maple",
    "Meadow",
    "Moss",
    "Otter",
    "Pebble",
    "Pine",
    "Rain",
    "Reed",
    "River",
    "Robin",
    "Sparrow",
    "Stone",
    "Tide",
    "Willow",
)


def new_public_alias() -> str:
    adjective = secrets.choice(_ADJECTIVES)
    noun = secrets.choice(_NOUNS)
    return f"{adjective} {noun} {secrets.randbelow(90) + 10}"
