"""FHIR R4 in and out: transaction/batch import, read and search, export of a person's record."""
