"""Imports every table so that ``Base.metadata`` is complete (Alembic and tests read it)."""

from idiograph.alerts import model as _alerts  # noqa: F401
from idiograph.baselines import model as _baselines  # noqa: F401
from idiograph.care import model as _care  # noqa: F401
from idiograph.db import Base
from idiograph.fhir import model as _fhir  # noqa: F401
from idiograph.governance import model as _governance  # noqa: F401
from idiograph.intake import model as _intake  # noqa: F401
from idiograph.matching import model as _matching  # noqa: F401
from idiograph.measures import model as _measures  # noqa: F401
from idiograph.monitoring.recovery import model as _recovery  # noqa: F401
from idiograph.monitoring.reviews import model as _reviews  # noqa: F401
from idiograph.observations import model as _observations  # noqa: F401
from idiograph.patients import model as _patients  # noqa: F401
from idiograph.pipeline import model as _pipeline  # noqa: F401
from idiograph.security import model as _security  # noqa: F401
from idiograph.selection import model as _selection  # noqa: F401

metadata = Base.metadata
