"""Errors of delivery."""

from __future__ import annotations


class DeliveryError(Exception):
    """A channel could not deliver a reply; the job is retried until its attempts run out."""
