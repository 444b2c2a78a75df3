"""Delivery: the outbox that sends approved replies through a channel, once, with retries."""
