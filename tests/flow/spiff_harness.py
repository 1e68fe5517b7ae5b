"""Running Loomwork's exported BPMN in SpiffWorkflow, with a simpleeval script environment instead of ``eval``.

Used by the differential test and by ``bench/bench_flow.py``. Every user task is approved by setting
``<node>_vote = "approve"`` (the multi-instance output item) in its data and running it; multi-instance completion conditions see the BPMN counters
``nrOfInstances``, ``nrOfCompletedInstances`` and ``nrOfApprovals``.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, Mapping

import simpleeval
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from flow_engine import FlowSpec, resolve
from flow_engine.bpmn import to_bpmn

_ISO = re.compile(r"^P(\d+D)?(T(\d+H)?(\d+M)?)?$")


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
            done = [c for c in children if str(c.id) in merged]
            extra.update(nrOfInstances=len(children), nrOfCompletedInstances=len(done),
                         nrOfApprovals=sum(1 for c in done if c.data.get(f"{task.task_spec.bpmn_id}_vote") == "approve"))
        return super().evaluate(task, expression, extra)


def spiff_spec(flow: FlowSpec) -> Any:
    """Parse the flow's exported BPMN into a Spiff process spec."""
    parser = BpmnParser()
    parser.add_bpmn_str(to_bpmn(flow).encode(), filename=f"{flow.key}.bpmn")
    return parser.get_spec(f"Process_{flow.key}")


def spiff_run(flow: FlowSpec, spec: Any, values: Mapping[str, Any], initiator: str, directory: Any,
              engine: LoomScriptEngine | None = None, approvals: Counter[str] | None = None) -> list[str]:
    """Run one instance to its end, approving every user task; return the Loomwork node ids in completion order.

    ``approvals`` (if given) counts the user tasks completed per node.
    """
    data = dict(values)
    for node in flow.nodes:
        if node.is_user_node:
            data[f"assignees_{node.id}"] = resolve(node.assignees, values, initiator, directory) or [initiator]
    workflow = BpmnWorkflow(spec, script_engine=engine or LoomScriptEngine())
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    done: list[str] = []

    def record(task: Any) -> None:
        done.append(task.task_spec.bpmn_id)

    workflow.do_engine_steps(did_complete_task=record)
    while not workflow.is_completed():
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        services = [t for t in workflow.get_tasks(state=TaskState.STARTED) if isinstance(t.task_spec, ServiceTask)]
        if services:  # automation nodes: the automation runner reports them done
            services[0].complete()
            record(services[0])
            workflow.do_engine_steps(did_complete_task=record)
            continue
        if not ready:
            waiting = [(t.task_spec.bpmn_id, t.state) for t in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK)]
            raise RuntimeError(f"Spiff is stuck: no ready task and not completed; unfinished: {waiting}")
        task = ready[0]
        task.data[f"{task.task_spec.bpmn_id}_vote"] = "approve"  # the outputDataItem of multi-instance tasks
        task.run()
        record(task)
        if approvals is not None:
            approvals[task.task_spec.bpmn_id] += 1
        workflow.do_engine_steps(did_complete_task=record)
    known = set(flow.by_id)
    path: list[str] = []
    for bpmn_id in done:
        if bpmn_id in known and bpmn_id not in path:
            path.append(bpmn_id)
    return path
