"""Instrument definitions (data files), scoring, and FHIR Questionnaire(Response) mapping."""
