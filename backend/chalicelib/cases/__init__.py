"""Cases: moving a submission through its lifecycle, what the customer sees of it, the follow-up link."""

__all__ = [
    "book",
    "follow_up",
    "notices",
    "tracking",
]
