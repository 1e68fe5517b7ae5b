"""Running Loomwork's exported BPMN in SpiffWorkflow, with a simpleeval script environment instead of ``eval``.

Used by the differential tests and by ``bench/bench_flow.py``. A user task is decided by setting ``<node>_vote``
(the multi-instance output item, collected in ``votes_<node>``) in its data and running it: ``approve``,
``reject`` or ``return:<target>`` (a node id or ``initiator``); the export's verdict gateways route on these.
Completion conditions see the BPMN counters ``nrOfInstances`` and ``nrOfCompletedInstances`` and the counters of
the votes cast so far, ``nrOfApprovals``, ``nrOfRejections`` and ``nrOfReturns``.

A script of decisions (``Script``) is played the same way on Spiff and on Loomwork's runtime: the task acted on
next is a ready task of the node the script's next step names if there is one (that step is taken), otherwise the
first ready task, which is approved.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, Mapping, Sequence

import simpleeval
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from flow_engine import FlowSpec, resolve
from flow_engine.bpmn import REJECTED, return_targets, to_bpmn

_ISO = re.compile(r"^P(\d+D)?(T(\d+H)?(\d+M)?)?$")
#: One step of a script: ``(node, "approve" | "reject")`` or ``(node, "return", to)`` with ``to`` as the runtime
#: takes it (``previous``, ``initiator`` or a node id).
Step = tuple[str, ...]
Script = Sequence[Step]


class _AttrDict(dict):
    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _wrap(value: Any) -> Any:
    return _AttrDict({k: _wrap(v) for k, v in value.items()}) if isinstance(value, Mapping) else value


class SimpleEvalEnvironment(TaskDataEnvironment):
    """Evaluates expressions with simpleeval on the task data; ISO 8601 durations evaluate to themselves."""

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        text = expression.strip()
        if _ISO.match(text):
            return text
        names = {k: _wrap(v) for k, v in {**context, **(external_context or {})}.items()}
        return simpleeval.EvalWithCompoundTypes(names=names, functions={"len": len}).eval(text)

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        raise NotImplementedError("exported flows contain no scripts")


class LoomScriptEngine(PythonScriptEngine):
    """Adds the multi-instance counters to what a completion condition sees."""

    def __init__(self) -> None:
        super().__init__(environment=SimpleEvalEnvironment())

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        extra = dict(external_context or {})
        parent = task.parent
        if parent is not None and "merged" in parent.internal_data:
            merged = set(parent.internal_data["merged"])
            children = [c for c in parent.children if c.task_spec.name == task.task_spec.name]
            votes = [c.data.get(f"{task.task_spec.bpmn_id}_vote") for c in children if str(c.id) in merged]
            extra.update(nrOfInstances=len(children), nrOfCompletedInstances=len(votes),
                         nrOfApprovals=votes.count("approve"), nrOfRejections=votes.count("reject"),
                         nrOfReturns=sum(1 for v in votes if str(v).startswith("return:")))
        return super().evaluate(task, expression, extra)


def spiff_spec(flow: FlowSpec) -> Any:
    """Parse the flow's exported BPMN into a Spiff process spec."""
    parser = BpmnParser()
    parser.add_bpmn_str(to_bpmn(flow).encode(), filename=f"{flow.key}.bpmn")
    return parser.get_spec(f"Process_{flow.key}")


def next_step(script: list[Step], node: str) -> Step:
    """The step to take on a task at ``node``: the script's next one if it names ``node`` (consumed), else approve."""
    if script and script[0][0] == node:
        return script.pop(0)
    return (node, "approve")


def _is_instance(task: Any) -> bool:
    """One person's instance of a multi-instance task (the node itself completes as the parent)."""
    parent = task.parent
    return (parent is not None and isinstance(parent.task_spec, MultiInstanceTask)
            and task.task_spec.name == parent.task_spec.task_spec)


def spiff_play(flow: FlowSpec, spec: Any, values: Mapping[str, Any], initiator: str, directory: Any,
               script: Script = (), engine: LoomScriptEngine | None = None,
               approvals: Counter[str] | None = None) -> tuple[list[str], str | None]:
    """Run one instance to its end playing ``script``; return the Loomwork nodes in the order they were passed
    (each visit once, a resubmission as a visit of the start node) and the outcome.

    ``approvals`` (if given) counts the user tasks approved per node.
    """
    todo = list(script)
    data = dict(values)
    for node in flow.nodes:
        if node.is_user_node:
            data[f"assignees_{node.id}"] = resolve(node.assignees, values, initiator, directory) or [initiator]
    workflow = BpmnWorkflow(spec, script_engine=engine or LoomScriptEngine())
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    known = flow.by_id
    resubmit = f"{flow.start.id}__resubmit"
    path: list[str] = []
    approved: list[str] = []  # user nodes in the order they were approved (what "previous" means to a person)
    outcome: list[str | None] = [None]
    people = {n.id for n in flow.nodes if n.is_user_node} | {resubmit}
    noted: set[Any] = set()
    joins = {n.id for n in flow.nodes if n.type == "join"}
    waiting: set[str] = set()

    def note(task: Any) -> None:
        """Pass ``task``'s node, after the nodes before it (Spiff reports a completed task after the tasks it led
        into have started): a user node when its task starts, as in Loomwork, the others when they complete."""
        chain = []
        while task is not None and task.id not in noted and (not chain or task.has_state(TaskState.COMPLETED)):
            chain.append(task)
            task = task.parent
        for done in reversed(chain):
            noted.add(done.id)
            bpmn_id = done.task_spec.bpmn_id
            if _is_instance(done):
                continue
            if bpmn_id == resubmit:
                bpmn_id = flow.start.id
            if bpmn_id in joins:  # fired: passed since its first arrival
                if bpmn_id not in waiting:
                    path.append(bpmn_id)
                waiting.discard(bpmn_id)
            elif bpmn_id in known:
                path.append(bpmn_id)
                if known[bpmn_id].type == "end":
                    outcome[0] = known[bpmn_id].outcome or "approved"
            elif bpmn_id is not None and bpmn_id.endswith(REJECTED):
                outcome[0] = "rejected"
            for child in done.children if done.has_state(TaskState.COMPLETED) else ():
                join = child.task_spec.bpmn_id
                if join in joins and join not in waiting and not child.has_state(TaskState.PREDICTED_MASK):
                    waiting.add(join)  # a join is passed from its first arrival, as in Loomwork
                    path.append(join)

    def enter(_workflow: Any, task: Any) -> None:
        spec_ = task.task_spec
        if task.id not in noted and isinstance(spec_, MultiInstanceTask) and spec_.data_output is not None:
            # each visit starts with an empty vote collection: ``votes_<node>`` holds the votes of the node's
            # latest visit (Spiff refuses to start a multi-instance task whose output collection is filled)
            task.data.pop(spec_.data_output.bpmn_id, None)
        note(task)

    def record(task: Any) -> None:
        note(task)

    watched = [t for t in spec.task_specs.values() if t.bpmn_id in people]
    for task_spec in watched:
        task_spec.update_event.connect(enter)
    try:
        _play(workflow, todo, flow, record, approved, approvals)
    finally:
        for task_spec in watched:
            task_spec.update_event.disconnect(enter)
    return path, outcome[0]


def _play(workflow: Any, todo: list[Step], flow: FlowSpec, record: Any, approved: list[str],
          approvals: Counter[str] | None) -> None:
    resubmit = f"{flow.start.id}__resubmit"
    workflow.do_engine_steps(did_complete_task=record)
    while not workflow.is_completed():
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        services = [t for t in workflow.get_tasks(state=TaskState.STARTED) if isinstance(t.task_spec, ServiceTask)]
        if services:  # automation nodes: the automation runner reports them done
            services[0].complete()  # (reported as completed by the next engine steps)
            workflow.do_engine_steps(did_complete_task=record)
            continue
        if not ready:
            waiting = [(t.task_spec.bpmn_id, t.state) for t in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK)]
            raise RuntimeError(f"Spiff is stuck: no ready task and not completed; unfinished: {waiting}")
        head = todo[0][0] if todo else None
        task = next((t for t in ready if t.task_spec.bpmn_id == head), ready[0])
        node_id = task.task_spec.bpmn_id
        if node_id != resubmit:
            step = next_step(todo, node_id)
            vote = step[1]
            if vote == "return":
                vote = "return:" + _target(flow, node_id, step[2], approved)
            task.data[f"{node_id}_vote"] = vote  # the outputDataItem of multi-instance tasks
        task.run()
        record(task)
        if node_id != resubmit and vote == "approve":
            approved.append(node_id)
            if approvals is not None:
                approvals[node_id] += 1
        workflow.do_engine_steps(did_complete_task=record)
    assert not todo, f"steps never reached: {todo}"


def _target(flow: FlowSpec, node_id: str, to: str, approved: list[str]) -> str:
    """The back edge a person picks in the BPMN for a return ``to`` (``previous``: the latest node they approved
    among the ones the verdict gateway leads back to, else the initiator)."""
    targets = return_targets(flow, node_id)
    if to != "previous":
        return to
    for done in reversed(approved):
        if done != node_id and done in targets:
            return done
    return "initiator"


def spiff_run(flow: FlowSpec, spec: Any, values: Mapping[str, Any], initiator: str, directory: Any,
              engine: LoomScriptEngine | None = None, approvals: Counter[str] | None = None) -> list[str]:
    """Run one instance to its end, approving every user task; return the Loomwork node ids in the order passed.

    ``approvals`` (if given) counts the user tasks completed per node.
    """
    return spiff_play(flow, spec, values, initiator, directory, (), engine, approvals)[0]
