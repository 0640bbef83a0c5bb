"""The signed-in person (or the system) on whose behalf a use case runs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from idiograph.errors import NotPermitted
from idiograph.security.audit import Actor
from idiograph.security.roles import Permission, Role, has_permission


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID | None
    username: str
    role: str
    team_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    is_system: bool = False

    @classmethod
    def system(cls, name: str = "cli") -> Principal:
        """The operator at the command line: trusted like the database owner, and audited as such."""
        return cls(None, f"system:{name}", "system", frozenset(), True)

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.username, self.role)

    def can(self, permission: Permission) -> bool:
        return self.is_system or has_permission(Role(self.role), permission)

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise NotPermitted(self.role, permission.value)
