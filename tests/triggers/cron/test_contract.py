"""The cron subscriber against the shared subscriber contract (cron is no queue: the
lifecycle part only)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.triggers.contract import SubscriberContract
from triggers.cron.config import CronTriggerConfig
from triggers.cron.state import CronState


class TestCronSubscriber(SubscriberContract):
    kind = "cron"
    state_type = CronState

    @pytest.fixture
    def broker(self) -> None:
        return None  # without a lease, a gateway keeps its schedule alone

    async def new_source(self, broker: None) -> str:
        return "@every 1h"

    def config(self, broker: None, source: str, **keys: Any) -> CronTriggerConfig:
        return CronTriggerConfig.model_validate({"schedule": source, **keys})
