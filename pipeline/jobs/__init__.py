"""The jobs behind the CLI, one module each: train, score, evaluate, promote, tune, catalogue, demo.

Each reads its inputs, calls the engine and the pure code of features/ and models/, and writes
its outputs; only jobs (with data/, publish/, exports/ and tracking/) touch files, MLflow and the clock.
"""
