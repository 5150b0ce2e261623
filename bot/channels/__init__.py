"""Thin channel adapters: verify, parse into ``Inbound``, render replies for the provider."""
