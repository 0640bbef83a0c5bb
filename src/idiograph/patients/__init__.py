"""People, episodes (referral to discharge), teams and caseloads, and who may open whose record."""
