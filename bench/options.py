"""How long and how hard each scenario runs: full, or ``--quick`` for a smoke check."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Options:
    quick: bool = False
    connections: int = 32
    seconds: float = 10.0
    warmup_seconds: float = 2.0
    warmup_requests: int = 3000
    ceiling_rps: int = 6000
    """A generous upper bound on any endpoint's req/s here, to size the request files."""
    conversations: int = 100
    people: int = 10_000
    open_tickets: int = 1_000
    waiting_tickets: int = 10_000
    advocates: int = 50

    @classmethod
    def for_run(cls, *, quick: bool) -> Options:
        if quick:
            return cls(
                quick=True,
                seconds=3.0,
                warmup_seconds=1.0,
                warmup_requests=1000,
                conversations=20,
                people=1_000,
                open_tickets=100,
                waiting_tickets=10_000,
                advocates=50,
            )
        return cls()

    def requests_for(self, seconds: float) -> int:
        return int(self.ceiling_rps * seconds)
