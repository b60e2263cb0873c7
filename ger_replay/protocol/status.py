"""The status of a sample in a run, and the outcome of a call: one enum, str-valued, so the
values stored in tables, journals and JSON stay plain strings."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    #: Answered with a ranking whose top label is a candidate.
    OK = "ok"
    REFUSED = "refused"
    COUNT_MISMATCH = "count_mismatch"
    UNPARSEABLE = "unparseable"
    #: Never answered (no call reached an answer).
    UNANSWERED = "unanswered"
    #: Answered, but no label in the ranking is one of the dataset's candidates.
    NO_CANDIDATE = "no_candidate"
    #: Answered in prose naming no label (a description, a request for more context): like a
    #: refusal, no prediction under every rule set.
    NO_LABEL = "no_label"
    #: A call's outcome only: the endpoint rejected the request (HTTP 400).
    REJECTED = "rejected"


#: The statuses a sample of the predictions table may have, in table order.
SAMPLE_STATUSES: tuple[Status, ...] = (
    Status.OK,
    Status.REFUSED,
    Status.COUNT_MISMATCH,
    Status.UNPARSEABLE,
    Status.UNANSWERED,
    Status.NO_CANDIDATE,
    Status.NO_LABEL,
)
#: Journal outcomes of a call that reached an answer.
ANSWER_OUTCOMES: tuple[Status, ...] = (
    Status.OK,
    Status.REFUSED,
    Status.COUNT_MISMATCH,
    Status.UNPARSEABLE,
    Status.NO_LABEL,
    Status.REJECTED,
)
