"""Group-clustered intervals and the paired comparison, on cases whose answers are known by hand."""

from __future__ import annotations

import numpy as np

from petool_utils.evaluation.intervals import cluster_bootstrap_ci, cluster_ids, paired_comparison


class _E:
    def __init__(self, eid, func):
        self.entry_id, self.func = eid, func


def test_cluster_ids_use_func_and_give_unlabelled_entries_their_own_group():
    ids = cluster_ids([_E(1, "7"), _E(2, "7"), _E(3, None), _E(4, "8"), _E(5, "")])
    assert ids.tolist() == [0, 0, 1, 2, 3]


def test_constant_outcome_gives_a_point_interval():
    clusters = np.repeat(np.arange(5), 3)
    assert cluster_bootstrap_ci([np.ones(15)], clusters, n_boot=200) == (1.0, 1.0)


def test_correlated_groups_widen_the_interval_by_about_the_square_root_of_the_group_size():
    # 20 groups of 10 identical outcomes, half the groups right: the effective sample is 20, not 200.
    clusters = np.repeat(np.arange(20), 10)
    outcome = (clusters % 2 == 0).astype(float)
    lo, hi = cluster_bootstrap_ci([outcome], clusters, n_boot=4000, seed=1)
    singles = np.arange(200)
    lo1, hi1 = cluster_bootstrap_ci([outcome], singles, n_boot=4000, seed=1)
    assert lo < 0.5 < hi and lo1 < 0.5 < hi1
    # standard errors sqrt(.25/20)=0.112 vs sqrt(.25/200)=0.035: the ratio is sqrt(10)=3.16
    assert 2.5 < (hi - lo) / (hi1 - lo1) < 4.0
    assert abs((hi - lo) - 2 * 1.96 * 0.112) < 0.08


def test_mean_over_columns_is_the_statistic():
    clusters = np.arange(10)
    a, b = np.zeros(10), np.ones(10)
    assert cluster_bootstrap_ci([a, b], clusters, n_boot=100) == (0.5, 0.5)


def test_identical_prediction_sets_have_no_difference():
    clusters = np.repeat(np.arange(8), 2)
    x = (np.arange(16) % 3 == 0).astype(float)
    cmp = paired_comparison([x], [x], clusters, n_boot=200, n_perm=500)
    assert cmp.diff == 0.0 and cmp.p_value == 1.0 and cmp.ci == (0.0, 0.0)


def test_a_better_model_in_every_group_is_significant():
    clusters = np.repeat(np.arange(12), 3)
    a = np.zeros(36)
    b = np.where(np.arange(36) % 3 == 0, 1.0, 0.0)  # one more right answer in every group
    cmp = paired_comparison([a], [b], clusters, n_boot=500, n_perm=20000, seed=3)
    assert abs(cmp.diff - 1 / 3) < 1e-12 and cmp.n_groups == 12
    # exact p under group sign flips: 2 / 2**12 = 0.00049
    assert cmp.p_value < 0.002
    assert cmp.ci[0] > 0
