"""Variants of the LightGBM fit on the same rows and split, against the logistic regression.

An exploration, not the quality benchmark: one generated folder, its training rows built once
(cached as rows.pkl beside the data), the pipeline's out-of-time split, and each variant's raw
validation ROC AUC after early stopping on that same fold (so a little flattering to every
variant alike). The honest comparison is `make bench-quality`.

    .venv/bin/python -m pipeline.cli generate --profile sparse --out /tmp/exp/sparse --clients 8000 --seed 5
    .venv/bin/python benchmarks/bench_variants.py /tmp/exp/sparse
"""
import os
import pickle
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from pathlib import Path

import lightgbm as lgb
import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from features import categorical_features, monotone_directions
from models.baselines import plain_count_features, plain_counts_lightgbm
from models.training import lightgbm_params, split_rows
from pipeline.config import load_config
from pipeline.engines.local import LocalEngine
from pipeline.progress import Timer

folder = Path(sys.argv[1])
cache = folder / "rows.pkl"
config = load_config(None)
if cache.exists():
    rows, spec = pickle.load(open(cache, "rb"))
else:
    t = LocalEngine().prepare_training(folder, config=config, until=None, out=Path("/tmp/exp/out"), timer=Timer())
    rows, spec = t.rows, t.spec
    pickle.dump((rows, spec), open(cache, "wb"))
tc = config.training
split = split_rows(rows, tc)
names = list(spec.feature_names)
tr, va = rows.loc[split.train], rows.loc[split.valid]
ytr, yva = tr["label"].to_numpy(), va["label"].to_numpy()
lr = make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True), StandardScaler(),
                   LogisticRegression(max_iter=2000, C=1.0, random_state=42))
lr.fit(tr[names].to_numpy(float), ytr)
m_tr, m_va = lr.decision_function(tr[names].to_numpy(float)), lr.decision_function(va[names].to_numpy(float))
print(f"{folder.name}: train {len(tr)} ({ytr.sum()}), valid {len(va)} ({yva.sum()}); "
      f"LR {roc_auc_score(yva, m_va):.4f}; "
      f"plain {roc_auc_score(yva, plain_counts_lightgbm(tr, va, spec, 42)):.4f}", flush=True)

def run(label, extra=None, init=False, cfg=tc, only=None):
    p = {**lightgbm_params(cfg, len(rows), spec), **(extra or {})}
    if only is not None:
        p.pop("monotone_constraints", None)
    use = only or names
    cat = [c for c in categorical_features(spec) if c in use]
    dtr = lgb.Dataset(tr[use].to_numpy(np.float32), label=ytr, feature_name=use, categorical_feature=cat,
                      init_score=m_tr if init else None)
    dva = lgb.Dataset(va[use].to_numpy(np.float32), label=yva, reference=dtr, init_score=m_va if init else None)
    b = lgb.train(p, dtr, num_boost_round=2000, valid_sets=[dva], callbacks=[lgb.early_stopping(50, verbose=False)])
    raw = b.predict(va[use].to_numpy(np.float32), raw_score=True, num_iteration=b.best_iteration)
    if init:
        raw = raw + m_va
    print(f"  {label:40s} {roc_auc_score(yva, raw):.4f}  (rounds {b.best_iteration})", flush=True)

mono = {"monotone_constraints": monotone_directions(spec), "monotone_constraints_method": "intermediate"}
run("current")
run("monotone", mono)
run("leaves 4, min_child 200", {"num_leaves": 4, "min_child_samples": 200})
run("leaves 4, min_child 200, monotone", {"num_leaves": 4, "min_child_samples": 200, **mono})
run("linear start", init=True)
run("linear start + monotone", mono, init=True)
run("linear start, leaves 4", {"num_leaves": 4, "min_child_samples": 200}, init=True)
run("ff 0.5, l2 10, leaves 7", {"feature_fraction": 0.5, "lambda_l2": 10.0, "num_leaves": 7})
run("current, plain-count features only", only=plain_count_features(spec))
