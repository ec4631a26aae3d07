"""The champion rule's cases: first model, a better one, one below the strongest baseline."""

import pytest

from models.champion import decide, strongest_baseline

BASELINES = {"logistic regression": {"roc_auc": 0.838, "brier": 0.05}, "recency": {"roc_auc": 0.62},
             "LightGBM on plain counts": {"roc_auc": 0.81}}


def test_the_strongest_baseline_is_the_one_with_the_highest_roc_auc():
    verdict = strongest_baseline(BASELINES, 0.831)
    assert (verdict.name, verdict.roc_auc) == ("logistic regression", 0.838)
    assert verdict.margin == pytest.approx(-0.007) and not verdict.beaten
    assert verdict.describe() == ("ROC AUC 0.8310 is below the strongest baseline, logistic regression (0.8380), "
                                  "by 0.0070")
    assert strongest_baseline({}, 0.8) is None


def test_the_first_model_becomes_champion_even_below_a_baseline_and_says_so():
    decision = decide("expected_profit", 100.0, None, 0.0, baseline=strongest_baseline(BASELINES, 0.831))
    assert decision.promote
    assert decision.below_baseline.startswith("ROC AUC 0.8310 is below the strongest baseline, logistic regression")
    assert decision.reason == f"first registered model; {decision.below_baseline}"


def test_a_first_model_above_every_baseline_carries_no_mark():
    decision = decide("expected_profit", 100.0, None, 0.0, baseline=strongest_baseline(BASELINES, 0.85))
    assert decision.promote and decision.below_baseline == "" and decision.reason == "first registered model"


def test_a_better_model_above_the_baselines_takes_champion():
    decision = decide("roc_auc", 0.85, 0.84, 0.0, champion_version="3",
                      baseline=strongest_baseline(BASELINES, 0.85))
    assert decision.promote and "beats champion v3" in decision.reason
    assert decision.difference == pytest.approx(0.01)


def test_a_better_model_below_a_baseline_stays_challenger_unless_config_allows_it():
    verdict = strongest_baseline(BASELINES, 0.835)
    decision = decide("roc_auc", 0.835, 0.80, 0.0, champion_version="3", baseline=verdict)
    assert not decision.promote
    assert decision.reason.endswith("but ROC AUC 0.8350 is below the strongest baseline, logistic regression "
                                    "(0.8380), by 0.0030")
    allowed = decide("roc_auc", 0.835, 0.80, 0.0, champion_version="3", baseline=verdict, must_beat_baseline=False)
    assert allowed.promote and allowed.below_baseline == decision.below_baseline


def test_a_worse_model_never_takes_champion_whatever_the_baselines():
    decision = decide("roc_auc", 0.70, 0.75, 0.0, champion_version="3", baseline=strongest_baseline(BASELINES, 0.9))
    assert not decision.promote and "does not beat champion v3" in decision.reason


def test_an_unevaluable_champion_gives_way_only_to_a_model_above_the_baselines():
    below = decide("roc_auc", 0.80, None, 0.0, champion_version="2", baseline=strongest_baseline(BASELINES, 0.80))
    above = decide("roc_auc", 0.90, None, 0.0, champion_version="2", baseline=strongest_baseline(BASELINES, 0.90))
    assert not below.promote and "not promoted" in below.reason
    assert above.promote


def test_missing_sources_are_those_the_champion_had_and_the_new_model_lacks():
    from models.champion import missing_sources

    assert missing_sources(("events", "surveys", "tickets"), ("events", "tickets")) == ("surveys",)
    assert missing_sources(("events",), ("events", "surveys")) == ()
    assert missing_sources(("events", "surveys", "tickets"), ()) == ("events", "surveys", "tickets")


def test_a_better_model_lacking_a_source_of_the_champion_stays_challenger_and_says_which():
    decision = decide("roc_auc", 0.90, 0.80, 0.0, champion_version="3", lacking=("surveys",))
    assert not decision.promote
    assert decision.missing_sources == "surveys"
    assert decision.reason == ("roc_auc 0.9000 beats champion v3 (0.8000; higher is better, margin 0.0); not promoted: "
                               "the new model lacks surveys, which champion v3 was trained with "
                               "(training.allow_fewer_sources: false)")


def test_allow_fewer_sources_lets_it_take_champion_and_still_says_which_source_is_missing():
    decision = decide("roc_auc", 0.90, 0.80, 0.0, champion_version="3", lacking=("events", "tickets"),
                      allow_fewer_sources=True)
    assert decision.promote and decision.missing_sources == "events,tickets"
    assert "promoted although the new model lacks events, tickets" in decision.reason


def test_an_unevaluable_champion_does_not_give_way_to_a_model_lacking_its_source():
    # the champion cannot be scored on data without its source: on figures alone the new one would win
    decision = decide("roc_auc", 0.90, None, 0.0, champion_version="2", baseline=strongest_baseline(BASELINES, 0.90),
                      lacking=("surveys",))
    assert not decision.promote and "lacks surveys" in decision.reason


def test_a_worse_model_lacking_a_source_is_not_promoted_and_the_reason_names_the_source():
    decision = decide("roc_auc", 0.70, 0.75, 0.0, champion_version="3", lacking=("tickets",), allow_fewer_sources=True)
    assert not decision.promote
    assert "does not beat champion v3" in decision.reason and "lacks tickets" in decision.reason


def test_no_missing_source_leaves_the_decision_as_the_figures_make_it():
    assert decide("roc_auc", 0.90, 0.80, 0.0, champion_version="3", lacking=()) == \
        decide("roc_auc", 0.90, 0.80, 0.0, champion_version="3")
    first = decide("roc_auc", 0.90, None, 0.0, lacking=("surveys",))  # no champion: nothing to lack
    assert first.promote and first.missing_sources == ""
