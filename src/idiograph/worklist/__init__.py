"""Who needs attention today and why: clinical priority, the Today worklist and the paged caseload."""
