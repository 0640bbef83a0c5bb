from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).with_name("data")


@pytest.fixture
def synthea_bundle() -> dict[str, Any]:
    return copy.deepcopy(json.loads((DATA / "synthea_style_us_core.json").read_text()))
