"""The outer floor: reads and writes files, talks to MLflow, holds the CLI and the jobs.

Rooms by role (docs/architecture.md): data, engines, publish, exports, tracking, jobs, synth;
cli.py, config.py, installation.py and progress.py on this level.
"""

__churn_pipeline__ = True  # this project's package, not another of the same name (pipeline/installation.py)
