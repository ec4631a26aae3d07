"""MLflow: experiments, the pyfunc model and the registry's aliases (registry, pyfunc_model), and
what a training or scoring run logs (training_run, scoring_run)."""
