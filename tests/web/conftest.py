"""Fixtures of the page tests."""
from __future__ import annotations

import pytest

from engine.platform import Platform
from webclient import Browser  # type: ignore[import-not-found]


@pytest.fixture
def browser(platform: Platform) -> Browser:
    return Browser(platform)
