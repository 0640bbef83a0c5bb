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
SUPPORTED = ("Patient", "Observation", "QuestionnaireResponse", "Condition", "Encounter", "EpisodeOfCare")


def source_identifier_system(source: str) -> str:
    """The identifier system under which a FHIR source's Patient ids are kept."""
    return f"urn:idiograph:fhir-source:{source}"


ORDINAL_VALUE_EXT = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
SAFETY_ITEM_EXT = "urn:idiograph:fhir:StructureDefinition/safety-item"
