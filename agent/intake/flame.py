"""Flame risk (0-100) in explained parts: negativity, hostility, reach, velocity, sensitivity, and a floor.

    heat          = 1 - (1 - negativity) x (1 - hostility)      (either one heats a post up)
    amplification = 0.3 + 0.7 x max(reach, velocity)            (a large OR a fast-spreading account)
    risk          = 100 x heat x amplification x (1 + 0.5 per sensitive topic, at most 2)

and a floor: swearing or an explicit boycott from a large account (>= 10,000 followers) or a fast-spreading
post (>= 10 reposts an hour, or >= 30 reposts when the time is unknown) scores at least 80, above the
two-person review threshold (`KIZUKI_TWO_PERSON_RISK_THRESHOLD`, 70 by default): a social-media manager
wants two people to look at an angry post that many people will see.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from agent.schemas import FlamePart, PostIn

LARGE_ACCOUNT_FOLLOWERS = 10_000
FAST_REPOSTS_PER_HOUR = 10.0
MANY_REPOSTS = 30  # when the post's age is unknown
HOSTILE_FLOOR = 80
_SWEARING = 0.7
_BOYCOTT = 0.8


def hours_since(created_at: datetime | None, now: datetime) -> float | None:
    """Hours from posting to `now` (at least a quarter of an hour), or None when the time is unknown."""
    if created_at is None:
        return None
    return max(0.25, (now - created_at).total_seconds() / 3600)


def flame_risk(
    post: PostIn,
    *,
    score: float,
    intent: str,
    sensitive: dict[str, list[str]],
    swearing: Sequence[str],
    boycott: Sequence[str],
    now: datetime,
) -> tuple[int, list[FlamePart]]:
    """The risk and its parts (each a value in 0-1 and a reason a person can check)."""
    negativity = max(0.0, -score)
    why = f"sentiment {score:+.2f}"
    if intent == "complaint" and negativity < 0.4:
        negativity, why = 0.4, f"{why}, a complaint"
    if sensitive and negativity < 0.5:
        negativity, why = 0.5, f"{why}, a sensitive topic"
    hostility = 0.0
    named: list[str] = []
    if swearing:
        hostility = _SWEARING
        named.append("swearing: " + ", ".join(dict.fromkeys(swearing)))
    if boycott:
        hostility = 1.0 if swearing else _BOYCOTT
        named.append("boycott: " + ", ".join(dict.fromkeys(boycott)))
    followers, reposts = post.author.followers, post.metrics.reposts
    reach = min(1.0, math.log10(1 + followers + 20 * reposts) / 6)
    engagements = post.metrics.likes + 3 * reposts + 2 * post.metrics.replies
    hours = hours_since(post.created_at, now)
    if hours is None:
        velocity = 0.0
        velocity_why = "unknown (no created_at)"
    else:
        velocity = min(1.0, math.log10(1 + engagements / hours) / 3)
        velocity_why = (
            f"{engagements / hours:.1f} engagements/hour, {reposts / hours:.1f} reposts/hour over {hours:.1f} h"
        )
    topics = min(2.0, 1.0 + 0.5 * len(sensitive))
    heat = 1 - (1 - negativity) * (1 - hostility)
    amplification = 0.3 + 0.7 * max(reach, velocity)
    risk = round(100 * heat * amplification * topics)
    parts = [
        FlamePart(name="negativity", value=round(negativity, 3), reason=why),
        FlamePart(name="hostility", value=hostility, reason="; ".join(named) or "no swearing or boycott"),
        FlamePart(name="reach", value=round(reach, 3), reason=f"{followers:,} followers, {reposts:,} reposts"),
        FlamePart(name="velocity", value=round(velocity, 3), reason=velocity_why),
        FlamePart(
            name="sensitivity",
            value=round(topics - 1.0, 3),
            reason="; ".join(f"{topic} ({', '.join(terms[:3])})" for topic, terms in sensitive.items())
            or "no sensitive topic",
        ),
    ]
    large = followers >= LARGE_ACCOUNT_FOLLOWERS
    fast = (hours is not None and reposts / hours >= FAST_REPOSTS_PER_HOUR) or (
        hours is None and reposts >= MANY_REPOSTS
    )
    if hostility > 0 and (large or fast) and risk < HOSTILE_FLOOR:
        risk = HOSTILE_FLOOR
        who = " and ".join(
            w for w, on in ((f"{followers:,} followers", large), (f"{reposts:,} reposts, spreading fast", fast)) if on
        )
        parts.append(
            FlamePart(name="floor", value=HOSTILE_FLOOR / 100, reason=f"hostile post from a wide audience ({who})")
        )
    return max(0, min(100, risk)), parts


def reasons_of(parts: Sequence[FlamePart]) -> list[str]:
    """The parts as lines (TriageResult.flame_reasons, kept for readers of the older field)."""
    lines = []
    for p in parts:
        if p.name in ("hostility", "sensitivity") and p.value == 0:
            continue  # say only what raised the score
        if p.name == "sensitivity":
            lines.append(f"sensitive x{1 + p.value:.1f}: {p.reason}")
        elif p.name == "velocity" and p.reason.startswith("unknown"):
            lines.append(f"velocity {p.reason}")
        else:
            lines.append(f"{p.name} {p.value:.2f} ({p.reason})")
    return lines
