"""The `churn` command: parses flags, calls a job, maps errors to exit codes. No logic here.

Exit codes: 0 done, 2 bad input or config (one line on stderr), 3 stopped by a gate (drift,
a feature the data cannot provide, realised performance), 1 anything unexpected (one line on
stderr, the traceback in churn-error.log).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer

from features.errors import ContractError
from pipeline.cli_options import (
    ENGINE_HELP,
    SCHEDULER_HELP,
    date_flag,
    engine_flags,
    global_flags_first,
    mlflow_command,
)
from pipeline.cli_options import data_flag as _data
from pipeline.cli_options import merged as _merged
from pipeline.cli_options import output_flag as _out
from pipeline.data.location import RedactingFilter, redact

# plain click help (rich_markup_mode=None): a flag is shown as a flag, not as an option taking "<bool>"
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Point-in-time churn prediction: generate data, train, score.")
log = logging.getLogger("churn")

EXIT_BAD_INPUT = 2
EXIT_GATE = 3
EXIT_UNEXPECTED = 1


def _setup_logging(verbose: bool, quiet: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(show_path=False, log_time_format="%H:%M:%S")
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    handler.addFilter(RedactingFilter())  # no credential of a data URL in a log line
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in ("churn", "pipeline", "features", "models"):
        logging.getLogger(name).setLevel(level)


def _store(settings):
    from pipeline.tracking.store import check_reachable, resolve_store

    # the one place the environment is read: everything below receives the URI as an argument
    store = resolve_store(os.environ, settings.registry.tracking_uri)
    check_reachable(store.uri, settings.registry.connect_timeout_s)  # a server that is down: exit 2 in seconds
    return store


def _tracking_uri(settings) -> str:
    return _store(settings).uri


def _date(value: Optional[str], flag: str):
    try:
        return date_flag(value, flag)
    except ContractError as exc:
        _fail(str(exc), EXIT_BAD_INPUT)


def _engine(engine: Optional[str], scheduler: Optional[str]) -> dict[str, Any] | None:
    try:
        return engine_flags(engine, scheduler)
    except ContractError as exc:
        _fail(str(exc), EXIT_BAD_INPUT)


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {redact(message)}", err=True)
    raise typer.Exit(code)


def _run(job: Callable[[], dict[str, Any]], as_json: bool, show: Callable[[dict[str, Any]], None]) -> None:
    from features.errors import ContractError, GateStop
    from pipeline.publish.files import publish_file

    try:
        result = job()
    except GateStop as exc:
        _fail(str(exc), EXIT_GATE)
    except ContractError as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, traceback to a log
        log_path = Path.cwd() / "churn-error.log"  # replaced whole, never written through a planted link
        publish_file(log_path, redact(traceback.format_exc()).encode("utf-8"))
        first = (str(exc).splitlines() or [""])[0]  # one line: the rest is in the log
        _fail(f"unexpected {type(exc).__name__}: {first} (traceback in {log_path})", EXIT_UNEXPECTED)
    show(result)
    if as_json:
        typer.echo(redact(json.dumps(result, sort_keys=True, default=str)))


def _echo(lines: Callable[[dict[str, Any]], list[str]]) -> Callable[[dict[str, Any]], None]:
    """A `show` for `_run`: the job's result as the lines `lines` makes of it (pipeline/exports/console.py)."""
    return lambda result: typer.echo("\n".join(redact(line) for line in lines(result)))


def _config(path: Optional[Path], overrides: dict[str, Any] | None = None):
    from pipeline.config import load_config

    return load_config(path, overrides)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"churn-pipeline {version('churn-pipeline')}")
        except PackageNotFoundError:
            typer.echo("churn-pipeline (not installed: running from a source tree)")
        raise typer.Exit(0)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="More detail in the log (debug lines)."),
          quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors in the log."),
          _: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                 help="Print the version and exit.")) -> None:
    if verbose and quiet:
        _fail("-v/--verbose and -q/--quiet cannot be used together", EXIT_BAD_INPUT)
    _setup_logging(verbose, quiet)
    if quiet or not sys.stderr.isatty():  # MLflow's "Downloading artifacts" bars: noise in a nightly log
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@app.command()
def generate(
    out: Path = typer.Option(..., "--out", help="Folder to write the contract tables into."),
    clients: int = typer.Option(5000, "--clients", min=10, help="Number of clients."),
    seed: int = typer.Option(7, "--seed", help="Random seed: same seed, same bytes."),
    end: Optional[str] = typer.Option(None, "--end", help="Last day of data, YYYY-MM-DD (default 2025-12-31)."),
    profile: str = typer.Option("default", "--profile",
                                help="The world: default, snapshot, sparse or interactions (see README)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Write realistic synthetic data in the input contract, plus truth.parquet."""
    from pipeline.synth.profiles import PROFILES
    end_date = _date(end, "--end")
    if profile not in PROFILES:
        _fail(f"--profile: '{profile}' is not one of {', '.join(PROFILES)}", EXIT_BAD_INPUT)
    from pipeline.synth.generator import generate_folder  # the generator alone: no MLflow, LightGBM, matplotlib

    def show(r: dict[str, Any]) -> None:
        rows = ", ".join(f"{k} {v:,}" for k, v in r["rows"].items())
        typer.echo(f"generated {rows} in {r['seconds']} s -> {r['out']}")

    _run(lambda: generate_folder(_out(out), clients=clients, seed=seed, end=end_date, profile=profile), as_json, show)


@app.command()
def train(
    data: str = typer.Option(..., "--data", help="Folder of contract tables (with --engine dask, also an fsspec URL)."),
    until: Optional[str] = typer.Option(None, "--until", help="Use no row after this day (default: latest in data)."),
    horizon: Optional[int] = typer.Option(None, "--horizon", min=1, help="Days ahead to predict churn (default 30)."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML settings over the defaults."),
    out: Path = typer.Option(Path("churn_output/train"), "--out", help="Where quarantine files go."),
    engine: Optional[str] = typer.Option(None, "--engine", help=ENGINE_HELP),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Train on monthly cutoffs, validate out of time, log and register in MLflow."""
    from pipeline.exports import console
    from pipeline.jobs import train
    until_date = _date(until, "--until")
    engine_overrides = _engine(engine, scheduler)

    def job() -> dict[str, Any]:
        overrides = _merged({"training": {"horizon_days": horizon}} if horizon else None, engine_overrides)
        settings = _config(config, overrides)
        return train.train(_data(data, settings), config=settings, tracking_uri=_tracking_uri(settings),
                           until=until_date, out=_out(out, data))

    _run(job, as_json, _echo(console.train_lines))


@app.command()
def score(
    data: str = typer.Option(..., "--data", help="Folder of contract tables (with --engine dask, also an fsspec URL)."),
    out: Path = typer.Option(..., "--out", help="Folder for risk_list.parquet / .csv."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Score as of this day (default: latest in data)."),
    model: Optional[str] = typer.Option(None, "--model", help="Model URI (default models:/churn@champion)."),
    sort: Optional[str] = typer.Option(None, "--sort", help="value (expected value at risk, default) or probability."),
    capacity: Optional[float] = typer.Option(None, "--capacity",
                                             help="The call sheet's length: N clients, or a share of the scored "
                                                  "below 1 (default scoring.capacity, 0.05)."),
    lang: Optional[str] = typer.Option(None, "--lang", help="en (default) or es: reasons, actions, headers, report."),
    partition_clients: Optional[int] = typer.Option(None, "--partition-clients", min=1,
                                                    help="Clients per hash partition (default 250000): memory "
                                                         "follows this, not the data."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML settings over the defaults."),
    engine: Optional[str] = typer.Option(None, "--engine", help=ENGINE_HELP),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Score every client active at --as-of and publish the risk list, workbook and report.

    Exit codes: 0 published, 2 bad input or config, 3 stopped by a gate (drift, a missing
    feature, realised performance; the previous list stays), 1 unexpected.
    """
    as_of_date = _date(as_of, "--as-of")
    if sort not in (None, "value", "probability"):
        _fail(f"--sort: '{sort}' is not one of value, probability", EXIT_BAD_INPUT)
    if lang not in (None, "en", "es"):
        _fail(f"--lang: '{lang}' is not one of en, es", EXIT_BAD_INPUT)
    if capacity is not None and not (0 < capacity < 1 or (capacity >= 1 and float(capacity).is_integer())):
        _fail(f"--capacity: {capacity:g} is neither a whole number of clients from 1 nor a share between 0 and 1",
              EXIT_BAD_INPUT)

    import signal

    # the flags checked, the jobs' imports (pandas, LightGBM, MLflow, matplotlib) are worth their seconds
    from pipeline.exports import console
    from pipeline.jobs import score

    # a scheduler's timeout sends SIGTERM: unwind, so the manifest records the run as failed
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    def show(r: dict[str, Any]) -> None:
        s = r["summary"]
        typer.echo(f"scored {r['clients_scored']:,} clients as of {r['as_of']} with model version "
                   f"{r['model_version']}; listed {r['clients_listed']:,} -> {r['outputs']['csv']}")
        for line in console.call_sheet_lines(s):
            typer.echo(line)

    engine_overrides = _engine(engine, scheduler)

    def job() -> dict[str, Any]:
        settings = _config(config, engine_overrides)
        return score.score(_data(data, settings), out=_out(out, data), config=settings,
                           tracking_uri=_tracking_uri(settings),
                          model_uri=model, as_of_date=as_of_date, sort=sort, capacity=capacity, lang=lang,
                          partition_clients=partition_clients)

    _run(job, as_json, show)


@app.command()
def tune(
    data: Path = typer.Option(..., "--data", help="Folder of contract tables."),
    until: Optional[str] = typer.Option(None, "--until", help="Use no row after this day (default: latest in data)."),
    trials: int = typer.Option(30, "--trials", min=1, help="Optuna trials."),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=1, help="Stop starting trials after S seconds."),
    folds: int = typer.Option(3, "--folds", min=1, help="Rolling-origin out-of-time folds (latest cutoffs)."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML settings over the defaults."),
    out_config: Path = typer.Option(Path("churn_output/tuned.yaml"), "--out-config",
                                    help="Where to write the config with the best parameters (for train --config)."),
    out: Path = typer.Option(Path("churn_output/tune"), "--out", help="Where quarantine files go."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Search LightGBM parameters with Optuna, validated out of time on rolling origins."""
    from pipeline.jobs import tune
    until_date = _date(until, "--until")

    def show(r: dict[str, Any]) -> None:
        base = r.get("baseline_value")
        typer.echo(f"{r['trials_completed']} trials; best mean ROC AUC {r['best_value']:.4f}"
                   + (f" (current settings {base:.4f})" if base is not None else "")
                   + f"; config written to {r['config_path']} (use: churn train --config {r['config_path']})")

    def job() -> dict[str, Any]:
        settings = _config(config)
        return tune.tune(data, config=settings, tracking_uri=_tracking_uri(settings), until=until_date, trials=trials,
                         timeout=timeout, out_config=out_config, out=_out(out, data), folds=folds)

    _run(job, as_json, show)


@app.command()
def evaluate(
    data: Path = typer.Option(..., "--data", help="Folder of contract tables, churn included."),
    model: Optional[str] = typer.Option(None, "--model", help="Model URI (default models:/churn@champion)."),
    as_of: Optional[str] = typer.Option(None, "--as-of",
                                        help="Cutoff to grade at (default: latest fully labelled month-end)."),
    out: Path = typer.Option(Path("churn_output/evaluate"), "--out", help="Where the report and plots go."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML settings over the defaults."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Grade a model on a cutoff with observed labels: ranking, calibration, lift, expected profit."""
    from pipeline.exports import console
    from pipeline.jobs import evaluate
    as_of_date = _date(as_of, "--as-of")

    def job() -> dict[str, Any]:
        settings = _config(config)
        return evaluate.evaluate(data, config=settings, tracking_uri=_tracking_uri(settings), model_uri=model,
                                 as_of_date=as_of_date, out=_out(out, data))

    _run(job, as_json, _echo(console.evaluate_lines))


@app.command()
def promote(
    version: str = typer.Argument(..., help="Registry version to make champion."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML settings over the defaults."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Make a registered version the champion by hand (the decision is tagged on the version)."""
    from pipeline.jobs import promote
    def show(r: dict[str, Any]) -> None:
        if not r["changed"]:
            typer.echo(f"{r['model']} {r['decision']}: nothing changed")
            return
        demoted = f"; v{r['previous_champion']} is now the challenger" if r["previous_champion"] else ""
        typer.echo(f"{r['model']} v{r['version']} is now {r['alias']} ({r['decision']}){demoted}")

    def job() -> dict[str, Any]:
        settings = _config(config)
        return promote.promote(version, config=settings, tracking_uri=_tracking_uri(settings))

    _run(job, as_json, show)


@app.command()
def features(
    data: Path = typer.Option(..., "--data", help="Folder of contract tables."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the catalogue here (Markdown); else print it."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML settings over the defaults."),
) -> None:
    """List every feature this data gives: name, source table, window, what it measures."""
    from pipeline.jobs import catalogue
    def show(r: dict[str, Any]) -> None:
        typer.echo(f"{r['features']} features -> {r['out']}" if r["out"] else r["text"])

    _run(lambda: catalogue.feature_catalogue(data, config=_config(config), out_file=out), False, show)


@app.command()
def demo(
    out: Path = typer.Option(Path("churn_demo"), "--out", help="Folder for the demo data and outputs."),
    clients: int = typer.Option(5000, "--clients", min=100, help="Number of generated clients."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Generate data, train, register and score: the whole pipeline on the embedded default."""
    from pipeline.exports import console
    from pipeline.jobs import demo

    def job() -> dict[str, Any]:
        settings = _config(None)
        return demo.demo(_out(out), config=settings, tracking_uri=_tracking_uri(settings), clients=clients)

    _run(job, as_json, _echo(lambda r: console.demo_lines(r, mlflow_command())))


@app.command()
def doctor(data: Path = typer.Option(..., "--data", help="The folder of contract tables a nightly score reads."),
           out: Optional[Path] = typer.Option(None, "--out", help="The nightly score's output folder."),
           config: Optional[Path] = typer.Option(None, "--config", help="YAML settings over the defaults.")) -> None:
    """Which store, champion, data and output folder a nightly score would use; exit 2 naming what is missing."""
    from pipeline.jobs.doctor import doctor as check
    def job() -> dict[str, Any]:
        settings = _config(config)
        store = _store(settings)
        return check(data, out, config=settings, tracking_uri=store.uri, source=store.source)

    _run(job, False,
         lambda r: typer.echo("\n".join(r["lines"])) or (r["problem"] and _fail(r["problem"], EXIT_BAD_INPUT)))


def main() -> None:
    # LightGBM's OpenMP threads spin while they wait; when another process holds a core that turns
    # into a fivefold slowdown (measured here: 147 s against 29 s). Passive waiting avoids it. It
    # must be set before the OpenMP runtime starts (lightgbm is imported by the commands, later),
    # and Dask's local workers inherit it.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    app(args=global_flags_first(sys.argv[1:]), prog_name="churn")


if __name__ == "__main__":
    main()
