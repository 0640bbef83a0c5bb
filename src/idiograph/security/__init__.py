"""Users, roles, permissions, sessions and the tamper-evident audit trail."""
