# The two commands that open the README: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PORT ?= 8000

# Pure-logic modules: no I/O, checked with mypy --strict (DESIGN.md conventions).
PURE := src/idiograph/errors.py src/idiograph/matching/preferences.py src/idiograph/methods src/idiograph/instruments src/idiograph/alerts/kinds.py \
	src/idiograph/patients/nhs_number.py src/idiograph/patients/demographics.py src/idiograph/patients/episodes.py \
	src/idiograph/security/audit_chain.py src/idiograph/security/roles.py src/idiograph/measures/scoring.py \
	src/idiograph/measures/change.py src/idiograph/observations/validation.py src/idiograph/observations/units.py \
	src/idiograph/observations/catalogue.py src/idiograph/observations/csv_format.py src/idiograph/web/charts.py src/idiograph/web/report_charts.py \
	src/idiograph/reporting/disclosure.py src/idiograph/reporting/kpis.py src/idiograph/reporting/kpi_report.py src/idiograph/reporting/breakdowns.py src/idiograph/reporting/cost.py src/idiograph/reporting/funnel.py src/idiograph/reporting/personalisation.py src/idiograph/reporting/experience.py src/idiograph/reporting/kpi_csv.py src/idiograph/reporting/grid.py src/idiograph/reporting/community_outcomes.py src/idiograph/reporting/inpatient.py src/idiograph/measures/experience.py src/idiograph/intake/goal_outcomes.py src/idiograph/fhir/mapping_in.py src/idiograph/fhir/mapping_out.py \
	src/idiograph/fhir/search.py src/idiograph/languages.py src/idiograph/text.py \
	src/idiograph/adaptive/grm.py src/idiograph/adaptive/engine.py src/idiograph/synth/validate.py src/idiograph/monitoring/outcomes/nhs_talking_therapies.py \
	src/idiograph/monitoring/recovery/expected.py src/idiograph/monitoring/reviews/schedule.py \
	src/idiograph/monitoring/settings.py src/idiograph/monitoring/relapse/signal.py src/idiograph/baselines/intervals.py \
	src/idiograph/baselines/normal_normal.py src/idiograph/baselines/biological_variation.py \
	src/idiograph/baselines/setpoint.py src/idiograph/baselines/settings.py src/idiograph/baselines/measure.py \
	src/idiograph/evaluation src/idiograph/baselines/running.py src/idiograph/security/throttle.py \
	src/idiograph/security/sessions.py src/idiograph/security/headers.py src/idiograph/governed.py \
	src/idiograph/pipeline src/idiograph/selection/features.py src/idiograph/selection/learner.py src/idiograph/selection/course.py src/idiograph/matching/solve.py src/idiograph/matching/strengths.py \
	src/idiograph/intake/definition.py src/idiograph/intake/sections.py src/idiograph/fhir/intake_mapping.py src/idiograph/synth/demo_intake.py

.PHONY: run test lint setup chromium postgres clean

# Two stamps: `make run` installs what running needs (the runtime dependencies), `make test` adds the test
# extra (PySpark, Playwright, schemathesis, ruff, mypy, ...); either order works, each installs only what is missing.
RUN_DEPS := $(VENV)/.run-deps
TEST_DEPS := $(VENV)/.test-deps

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(RUN_DEPS): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_DEPS): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(RUN_DEPS)

setup: $(TEST_DEPS)

## run: install the runtime, migrate the SQLite database, load the demo service and serve the web UI on :$(PORT)
run: $(RUN_DEPS)
	$(BIN)/idiograph db upgrade
	$(BIN)/idiograph demo --if-empty
	$(BIN)/idiograph serve --host 127.0.0.1 --port $(PORT)

chromium:
	@test -x /usr/bin/chromium || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium); }

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start && sleep 2; }
	@pg_isready -h 127.0.0.1 -p 5432

## test: set up everything the suite needs (Chromium, PostgreSQL) and run the whole suite on SQLite and PostgreSQL
test: setup chromium postgres
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy --strict $(PURE)
	$(BIN)/lint-imports
	IDIOGRAPH_TEST_POSTGRES_URL=$(PG_URL) $(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) idiograph.db .pytest_cache
