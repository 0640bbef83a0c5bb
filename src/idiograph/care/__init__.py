"""Care as delivered: preferences, appointments, risk assessments, crisis plans."""
