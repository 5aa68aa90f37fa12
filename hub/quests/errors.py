"""Refusals of the native quest commands.

QuestError
├── QuestNotFoundError       no quest of the tenant has this id (another tenant's included)
├── TaskNotFoundError        no task of the tenant has this id (another tenant's included)
├── NotALearnerError         the person cannot enrol or hand in work (an observer account)
├── NotEnrolledError         the task's quest is not the learner's: another learner's task
└── EvidenceError            an upload that breaks a limit
    ├── EvidenceTooLargeError      a file or the whole upload over its size limit
    ├── EvidenceTypeError          a type the hub does not accept, or bytes that are not it
    └── EvidenceEmptyError         neither text nor a file
"""

from __future__ import annotations


class QuestError(Exception):
    """The base of the native quests' refusals."""


class QuestNotFoundError(QuestError):
    """Raised for a quest id that names no quest of the tenant."""


class TaskNotFoundError(QuestError):
    """Raised for a task id that names no task of the tenant."""


class NotALearnerError(QuestError):
    """Raised when an account that is not a learner enrols or hands in work."""


class NotEnrolledError(QuestError):
    """Raised when the learner is not enrolled in the task's quest."""


class EvidenceError(QuestError):
    """An upload that breaks a limit."""


class EvidenceTooLargeError(EvidenceError):
    """Raised for a file, or an upload, over its size limit."""


class EvidenceTypeError(EvidenceError):
    """Raised for a file whose type is not accepted, or whose bytes are not that type."""


class EvidenceEmptyError(EvidenceError):
    """Raised for an upload with neither text nor a file."""
