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
)
#: Journal outcomes of a call that reached an answer.
ANSWER_OUTCOMES: tuple[Status, ...] = (
    Status.OK,
    Status.REFUSED,
    Status.COUNT_MISMATCH,
    Status.UNPARSEABLE,
    Status.REJECTED,
)
