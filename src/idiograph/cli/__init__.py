"""The ``idiograph`` command line (Typer + Rich): one module per command group, composed here in one place."""

from __future__ import annotations

import typer

from idiograph.cli import (
    adaptive,
    audit,
    baselines,
    db,
    evaluation,
    export,
    governance,
    imports,
    matching,
    monitoring,
    outcomes,
    pipeline,
    policy,
    report,
    selection,
    service,
    synth,
    users,
)
from idiograph.matching import allocate

app = typer.Typer(help="idiograph: clinical personalisation for mental health services.", no_args_is_help=True)
allocate.register()  # allocating a therapist is a governed change (governance answer applies it too)
app.command()(service.serve)
app.command()(service.demo)
app.command()(synth.synth)
app.command()(outcomes.outcomes)
monitoring.app.command("evaluate")(evaluation.monitoring_evaluate)
baselines.app.command("evaluate")(evaluation.baselines_evaluate)
for name, group in (
    ("users", users.app),
    ("import", imports.app),
    ("export", export.app),
    ("audit", audit.app),
    ("db", db.app),
    ("monitoring", monitoring.app),
    ("policy", policy.app),
    ("governance", governance.app),
    ("matching", matching.app),
    ("adaptive", adaptive.app),
    ("baselines", baselines.app),
    ("pipeline", pipeline.app),
    ("selection", selection.app),
    ("report", report.app),
):
    app.add_typer(group, name=name)

__all__ = ["app"]
