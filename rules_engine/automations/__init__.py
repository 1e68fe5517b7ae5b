"""Automations: ``when`` (a record, flow, schedule, date or button trigger) → ``if`` → ``then`` (actions).

Modules: ``spec`` (frozen specs), ``loader`` (definition → spec, located errors), ``runtime`` (record, flow and
button triggers, one run's actions), ``jobs`` (scheduled and date-relative automations, run once per due item),
``tables`` (run log and run ledger), ``api`` (the button endpoint and the run log for admins).
"""
from __future__ import annotations

from .loader import build_automation
from .runtime import MAX_DEPTH, AutomationFailed, AutomationLoop, Automations
from .spec import AutomationSpec

__all__ = ["MAX_DEPTH", "AutomationFailed", "AutomationLoop", "AutomationSpec", "Automations", "build_automation"]
