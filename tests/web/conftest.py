"""Fixtures of the page tests."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from engine.platform import Platform
from webclient import Browser  # type: ignore[import-not-found]


@pytest.fixture
def browser(platform: Platform) -> Browser:
    return Browser(platform)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    """Keep each phase's report on the test item, so a browser fixture can screenshot a failed test."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
