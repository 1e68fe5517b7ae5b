"""Errors of the flow runtime, each a subclass of the platform's HTTP-shaped errors.

    NotFound
    └── TaskNotFound            no such task in the instance
    Forbidden
    ├── NotYourTask             the actor is not the task's assignee (or not the initiator, for withdraw)
    └── FieldNotEditable        a change to a field the node does not make editable
    Conflict
    ├── TaskAlreadyClosed              the task was already acted on (acting twice)
    ├── InstanceFinished        the instance has finished (or was withdrawn)
    ├── InstanceInError         the instance is stopped in its error state until retried
    └── AlreadyActed            withdraw after someone acted
    BadRequest
    ├── UnknownAction           not one of the task actions
    ├── ReasonRequired          reject/return without the reason the node requires
    ├── ReturnNotAllowed        a return target the node does not allow
    ├── RequiredFieldsMissing   approve without the fields the node requires
    └── InvalidPayload          a missing or wrong payload value (unknown user, bad position …)
    ValidationFailed
    └── StepRuleFailed          approve while a validation rule of the node does not hold (422)
"""
from __future__ import annotations

from engine.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed


class TaskNotFound(NotFound):
    """No task with that id in the instance."""


class NotYourTask(Forbidden):
    """The actor may not act on this task."""


class FieldNotEditable(Forbidden):
    """The payload changes a field that is not editable at this node."""


class TaskAlreadyClosed(Conflict):
    """The task is no longer open."""


class InstanceFinished(Conflict):
    """The instance has finished; nothing more can happen to it."""


class InstanceInError(Conflict):
    """The instance stopped in its error state; an admin must retry it first."""


class AlreadyActed(Conflict):
    """Withdraw is only possible while nobody has acted."""


class UnknownAction(BadRequest):
    """Not an action the runtime knows."""


class ReasonRequired(BadRequest):
    """The node requires a reason for this action."""


class ReturnNotAllowed(BadRequest):
    """The node does not allow returning there."""


class RequiredFieldsMissing(BadRequest):
    """Fields required at this node are empty."""


class InvalidPayload(BadRequest):
    """A payload value is missing or wrong."""


class StepRuleFailed(ValidationFailed):
    """A validation rule of the node (``validations: [{expr, message}]``) does not hold for the record."""
