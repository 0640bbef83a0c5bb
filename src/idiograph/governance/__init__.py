"""Governance: delegated-authority policies, decisions with rationale, escalations."""
