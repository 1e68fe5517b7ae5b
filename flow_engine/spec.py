"""Flow specs: the immutable shape of a flow definition, built once by the loader.

A ``FlowSpec`` is nodes and edges plus indexes (outgoing/incoming edges, matched parallel joins) computed when it
is built. Nothing here runs a flow; see ``runtime.py``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, Protocol

from engine.i18n import DEFAULT_LOCALE, Text

#: Version of the definition format this package reads (``format:`` in a file; missing means this one).
FORMAT_VERSION = 1

#: Node types a flow may use, with what each does.
NODE_TYPES: Mapping[str, str] = MappingProxyType({
    "start": "where the flow begins (exactly one)",
    "approval": "one or more people approve, reject or return",
    "fill": "a person completes fields of the record",
    "exclusive": "a branch point: the first outgoing edge whose condition holds, else the default",
    "parallel": "a split: every outgoing edge runs at once",
    "join": "waits for every branch of its parallel split",
    "notify": "sends a copy (cc) to people and moves on",
    "automation": "hands named actions to the automation runner and moves on",
    "subflow": "starts another flow and waits for its outcome",
    "end": "finishes the flow with an outcome",
})
#: Node types that create tasks for people.
USER_NODE_TYPES = frozenset({"approval", "fill"})
#: Approval modes: single, any one (或签), all (会签), sequential (依次), quorum (n of m or a percentage).
APPROVAL_MODES = ("single", "any", "all", "sequential", "quorum")
REJECT_POLICIES = ("immediate", "after_all")
IF_NONE_POLICIES = ("skip", "admin", "error")
FIELD_RIGHTS = ("hidden", "readonly", "editable", "required")
ESCALATE_ACTIONS = ("notify_manager", "reassign", "auto_approve", "auto_reject")
RETURN_KEYWORDS = ("previous", "initiator", "any_earlier")
REASON_ACTIONS = ("reject", "return")
ASSIGNEE_KINDS = ("users", "role", "department", "manager_of", "field", "expr", "decision")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|h|d|w)\s*$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str | int | float) -> timedelta:
    """``30m``, ``8h``, ``2d``, ``1w`` (or a number of minutes) → ``timedelta``; ``ValueError`` if not one."""
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        return timedelta(minutes=text)
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def format_duration(delta: timedelta) -> str:
    """The shortest ``30m`` / ``8h`` / ``2d`` spelling of ``delta``."""
    seconds = int(delta.total_seconds())
    for unit in ("w", "d", "h"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds // 60}m"


class Condition(Protocol):
    """A compiled expression: what the loader gets back from its ``compile_condition`` callable."""

    reads: Any

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """Evaluate on the record values."""


@dataclass(frozen=True)
class AssigneeRule:
    """One way of finding people: ``kind`` is one of ``ASSIGNEE_KINDS``.

    Attributes:
        kind: users, role, department, manager_of, field, expr or decision.
        value: the user ids (users), role, department, whose manager (``initiator``), field key, expression source
            or decision table key.
        levels: for ``manager_of``: how many levels up the department tree.
        compiled: the compiled expression for ``expr`` rules.
    """

    kind: str
    value: Any
    levels: int = 1
    compiled: Condition | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class EscalationSpec:
    """What happens when a task passes its escalation time."""

    action: str
    to: tuple[AssigneeRule, ...] = ()


@dataclass(frozen=True)
class SlaSpec:
    """Time limits of a node's tasks, measured from task creation (business time if ``business_time``)."""

    remind_after: timedelta | None = None
    escalate_after: timedelta | None = None
    escalate: EscalationSpec | None = None
    business_time: bool = False


@dataclass(frozen=True)
class FieldRights:
    """Per-node rights over the form's fields: hidden, readonly, editable or required."""

    rights: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    default: str = "readonly"

    def right(self, field_key: str) -> str:
        """The right for ``field_key`` at this node."""
        return self.rights.get(field_key, self.default)

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.rights.items())), self.default))


@dataclass(frozen=True)
class QuorumSpec:
    """How many approvals a quorum node needs: a ``count`` or a ``percent`` of the assignees."""

    count: int | None = None
    percent: float | None = None

    def needed(self, total: int) -> int:
        """Approvals needed out of ``total`` voters (at least 1, at most ``total``)."""
        if self.count is not None:
            want = self.count
        else:
            want = -(-int(round((self.percent or 0) * total * 100)) // 10000)  # ceil(percent% of total)
        return max(1, min(want, total)) if total else 1


@dataclass(frozen=True)
class StepRule:
    """A validation rule of a node: ``expr`` must hold when a task there is approved, else ``message``."""

    source: str
    compiled: Any
    message: Any  # engine.i18n.Text


@dataclass(frozen=True)
class NodeSpec:
    """One node of a flow. Fields that do not apply to a node's type keep their defaults."""

    id: str
    type: str
    #: the name in the app's language (what task and history rows store); ``name_text`` has every language
    name: str = ""
    assignees: tuple[AssigneeRule, ...] = ()
    if_none: str = "error"
    mode: str = "single"
    quorum: QuorumSpec | None = None
    reject_policy: str = "immediate"
    rights: FieldRights = field(default_factory=FieldRights)
    sla: SlaSpec | None = None
    returnable_to: tuple[str, ...] = ()
    require_reason: frozenset[str] = frozenset()
    outcome: str | None = None
    actions: tuple[Any, ...] = ()
    flow: str | None = None
    #: cross-field rules checked when a task here is approved (the record as it will be saved)
    validations: tuple["StepRule", ...] = ()
    #: an automation node's actions compiled by the automation engine when it is installed (None otherwise)
    compiled_actions: Any = field(default=None, compare=False, repr=False)
    #: the name as written: one text, or one per language (``{zh-CN: 审批, en: Review}``)
    name_text: Text = Text(())

    @property
    def is_user_node(self) -> bool:
        """True for nodes that create tasks for people (approval, fill)."""
        return self.type in USER_NODE_TYPES

    @property
    def label(self) -> str:
        """The name to show: ``name`` or the id."""
        return self.name or self.id

    def label_in(self, locale: str) -> str:
        """The name to show to someone reading ``locale``: the name in that language, else ``label``."""
        return self.name_text.get(locale) or self.label


@dataclass(frozen=True)
class EdgeSpec:
    """A sequence flow ``source → target``, with an optional condition or the ``default`` mark."""

    id: str
    source: str
    target: str
    condition: str | None = None
    default: bool = False
    compiled: Condition | None = field(default=None, compare=False, repr=False)


def parallel_branches(joins: Mapping[str, str],
                      successors: Callable[[str], Iterable[str]]) -> dict[str, tuple[frozenset[str], ...]]:
    """Each parallel split's branches: per outgoing edge, the nodes reached from it before the split's join."""
    out: dict[str, tuple[frozenset[str], ...]] = {}
    for join, split in joins.items():
        branches = []
        for first in successors(split):
            seen: set[str] = set()
            todo = [first]
            while todo:
                node = todo.pop()
                if node != join and node not in seen:
                    seen.add(node)
                    todo.extend(successors(node))
            branches.append(frozenset(seen))
        out[split] = tuple(branches)
    return out


def return_scope(branches: Mapping[str, tuple[frozenset[str], ...]], source: str,
                 target: str) -> tuple[str | None, frozenset[str] | None, str | None]:
    """Where a return from ``source`` to ``target`` goes back: ``(split, branch nodes, problem)``.

    ``target`` outside every parallel branch: ``(None, None, None)`` (the whole instance goes back). Inside
    branches: the innermost branch holding it, which ``source`` must be in too (only that branch goes back);
    otherwise ``problem`` says why the return is not allowed.
    """
    scope: tuple[str | None, frozenset[str] | None] = (None, None)
    for split, parts in branches.items():
        holding = [b for b in parts if target in b]
        if not holding:
            continue
        if len(holding) > 1:
            return None, None, f"it is reached from more than one branch of parallel split '{split}'"
        branch = holding[0]
        if source not in branch:
            if any(source in b for b in parts):
                return None, None, f"it is in another branch of parallel split '{split}'"
            return None, None, f"it is inside a branch of parallel split '{split}' that '{source}' is not in"
        if scope[1] is None or len(branch) < len(scope[1]):
            scope = (split, branch)
    return scope[0], scope[1], None


def _index(edges: tuple[EdgeSpec, ...], attr: str) -> Mapping[str, tuple[EdgeSpec, ...]]:
    table: dict[str, list[EdgeSpec]] = {}
    for edge in edges:
        table.setdefault(getattr(edge, attr), []).append(edge)
    return MappingProxyType({k: tuple(v) for k, v in table.items()})


@dataclass(frozen=True)
class FlowSpec:
    """A checked flow definition. ``joins`` maps each join node to the parallel split it closes; ``branches`` maps
    each split to the node sets of its branches (see ``parallel_branches``)."""

    key: str
    form: str
    nodes: tuple[NodeSpec, ...]
    edges: tuple[EdgeSpec, ...]
    #: the label in the app's language; ``label_text`` has every language it is written in
    label: str = ""
    version: str = ""
    file: str = ""
    #: ``manual`` (started by the API or an automation) or ``submit`` (started when a record of the form is created)
    start_on: str = "manual"
    joins: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    label_text: Text = Text(())
    #: the app's language: the one ``label`` and the nodes' ``name`` are in (and notifications' fallback)
    locale: str = DEFAULT_LOCALE
    by_id: Mapping[str, NodeSpec] = field(init=False, compare=False, repr=False)
    outgoing: Mapping[str, tuple[EdgeSpec, ...]] = field(init=False, compare=False, repr=False)
    incoming: Mapping[str, tuple[EdgeSpec, ...]] = field(init=False, compare=False, repr=False)
    branches: Mapping[str, tuple[frozenset[str], ...]] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", MappingProxyType({n.id: n for n in self.nodes}))
        object.__setattr__(self, "outgoing", _index(self.edges, "source"))
        object.__setattr__(self, "incoming", _index(self.edges, "target"))
        branches = parallel_branches(self.joins, lambda n: [e.target for e in self.outgoing.get(n, ())])
        object.__setattr__(self, "branches", MappingProxyType(branches))

    def label_in(self, locale: str) -> str:
        """The label to show to someone reading ``locale`` (the key when the flow has none)."""
        return self.label_text.get(locale) or self.label or self.key

    @property
    def start(self) -> NodeSpec:
        """The start node."""
        return next(n for n in self.nodes if n.type == "start")

    def node(self, node_id: str) -> NodeSpec:
        """The node with ``node_id`` (``KeyError`` if none)."""
        return self.by_id[node_id]

    def out(self, node_id: str) -> tuple[EdgeSpec, ...]:
        """Outgoing edges of ``node_id`` in definition order."""
        return self.outgoing.get(node_id, ())

    def into(self, node_id: str) -> tuple[EdgeSpec, ...]:
        """Incoming edges of ``node_id`` in definition order."""
        return self.incoming.get(node_id, ())

    def __hash__(self) -> int:
        return hash((self.key, self.version, self.nodes, self.edges))
