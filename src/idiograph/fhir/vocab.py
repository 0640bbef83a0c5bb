"""FHIR systems and extension URLs idiograph reads and writes."""

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
BCP47 = "urn:ietf:bcp:47"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
ETHNIC_EXT = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
ETHNIC_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
GENDER_IDENTITY_EXT = "http://hl7.org/fhir/StructureDefinition/individual-genderIdentity"
BASE = "https://idiograph.org/fhir"
DEPRIVATION_EXT = f"{BASE}/StructureDefinition/deprivation-decile"
REFERRAL_SOURCE_EXT = f"{BASE}/StructureDefinition/referral-source"
PRESENTING_PROBLEM_EXT = f"{BASE}/StructureDefinition/presenting-problem"
DISCHARGE_REASON_EXT = f"{BASE}/StructureDefinition/discharge-reason"
PATHWAY_SYSTEM = f"{BASE}/CodeSystem/pathway"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SUPPORTED = ("Patient", "Observation", "QuestionnaireResponse", "Condition", "Encounter", "EpisodeOfCare", "Goal")


def source_identifier_system(source: str) -> str:
    """The identifier system under which a FHIR source's Patient ids are kept."""
    return f"urn:idiograph:fhir-source:{source}"


ORDINAL_VALUE_EXT = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
SAFETY_ITEM_EXT = "urn:idiograph:fhir:StructureDefinition/safety-item"
# An adaptive short form (issue 18): the items asked in order and an ESTIMATE of the full-form total with its 95%
# interval, the decision at the cut and why it stopped; never a total (H-105)
ADAPTIVE_EXT = f"{BASE}/StructureDefinition/adaptive-estimate"

# Observation.category (FHIR R4 observation-category), by the catalogue's kind of measure.
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_CATEGORY_OF_KIND = {
    "questionnaire-total": ("survey", "Survey"),
    "questionnaire-item": ("survey", "Survey"),
    "lab": ("laboratory", "Laboratory"),
    "vital": ("vital-signs", "Vital Signs"),
    "device": ("activity", "Activity"),
}


def observation_category(kind: str) -> tuple[str, str] | None:
    """(code, display) in observation-category for a catalogue kind; None for codes learnt from imports."""
    return _CATEGORY_OF_KIND.get(kind)


FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
IDIOGRAPH_CODES = "urn:idiograph:code"
# Flag.code: what raised the flag, in idiograph's own code system (kinds of alert, and a high assessed risk).
ALERT_KIND_SYSTEM = f"{BASE}/CodeSystem/alert-kind"
ALERT_KINDS = {
    "safety": "Safety question answered: thoughts of self-harm or of being better off dead",
    "safety-unanswered": "Safety question left unanswered",
    "not-on-track": "Not on track: score above the expected-recovery boundary",
    "deviation": "Result outside the person's own usual range",
    "relapse": "Possible relapse after discharge",
    "high-risk": "Assessed risk: high",
}
HIGH_RISK_CODE = "high-risk"
REQUEST_STATUS = "http://hl7.org/fhir/request-status"
RISK_PROBABILITY = "http://terminology.hl7.org/CodeSystem/risk-probability"

# The intake baseline (idiograph.intake): the form as a QuestionnaireResponse whose questionnaire is this canonical
# with the definition's version (``url|version``), its answers coded in the intake code system, each section's
# contributor (who, in which profession, when) and the episode as extensions; psychosocial answers also as
# social-history Observations and goals as Goal resources, both derived from the response.
INTAKE_QUESTIONNAIRE = f"{BASE}/Questionnaire/intake"
INTAKE_CODES = f"{BASE}/CodeSystem/intake"
PROFESSION_SYSTEM = f"{BASE}/CodeSystem/profession"
CONTRIBUTION_EXT = f"{BASE}/StructureDefinition/contribution"
EPISODE_EXT = f"{BASE}/StructureDefinition/episode"
GOAL_RATING_EXT = f"{BASE}/StructureDefinition/goal-rating"
GOAL_RATING_CODE = "goal-rating"  # in INTAKE_CODES: a goal's 0-10 rating (Goal-Based Outcomes)
SOCIAL_HISTORY = "social-history"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
