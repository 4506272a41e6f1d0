import math

import cv2
import numpy as np
import pytest

from xai_mexculture.metrics import gaze


EPS = np.finfo(np.float64).eps


def test_pcc_hand_computed():
    gt = np.array([[1, 0], [0, 0]], float)
    sal = np.array([[1, 0], [0, 1]], float)
    # cov = 1/4 - 1/4 * 1/2 = 1/8; std(gt) = sqrt(3)/4, std(sal) = 1/2 -> 1/sqrt(3)
    assert gaze.calculate_pcc(gt, sal) == pytest.approx(1 / math.sqrt(3))


def test_pcc_properties():
    rng = np.random.default_rng(0)
    x = rng.random((9, 7))
    assert gaze.calculate_pcc(x, x) == pytest.approx(1.0)
    assert gaze.calculate_pcc(x, -x) == pytest.approx(-1.0)
    assert gaze.calculate_pcc(x, 3.5 * x + 2) == pytest.approx(1.0)
    y = rng.random((9, 7))
    assert gaze.calculate_pcc(x, 0.1 * y + 7) == pytest.approx(gaze.calculate_pcc(x, y))


def test_constant_maps_warn_and_give_defined_values(caplog):
    x = np.random.default_rng(1).random((4, 4))
    with caplog.at_level("WARNING"):
        assert gaze.calculate_pcc(x, np.ones((4, 4))) == 0.0
    assert "constant" in caplog.text
    # a constant saliency map is uniform: SIM = sum(min(P, 1/16))
    p = (x - x.min()) / (x.max() - x.min())
    p /= p.sum()
    assert gaze.calculate_sim(x, np.zeros((4, 4))) == pytest.approx(np.minimum(p, 1 / 16).sum())


def test_nan_is_an_error():
    bad = np.ones((3, 3))
    bad[1, 1] = np.nan
    for metric in (gaze.calculate_pcc, gaze.calculate_sim, gaze.calculate_kld):
        with pytest.raises(ValueError, match="NaN"):
            metric(np.ones((3, 3)), bad)
    with pytest.raises(ValueError, match="NaN"):
        gaze.calculate_pcc(np.full((3, 3), np.inf), np.ones((3, 3)))


def test_sim_hand_computed_and_properties():
    gt = np.array([[1, 0], [0, 0]], float)
    sal = np.array([[1, 0], [0, 1]], float)
    assert gaze.calculate_sim(gt, sal) == pytest.approx(0.5)
    x = np.random.default_rng(2).random((5, 5))
    assert gaze.calculate_sim(x, x) == pytest.approx(1.0)
    a = np.zeros((4, 4))
    a[:2] = 1
    assert gaze.calculate_sim(a, 1 - a) == pytest.approx(0.0)


def test_saliency_is_resized_to_the_ground_truth():
    gt = np.zeros((40, 60))
    gt[:, :30] = 1
    sal = np.zeros((10, 10))
    sal[:, :5] = 1
    expected = cv2.resize(sal.astype(np.float32), (60, 40), interpolation=cv2.INTER_LINEAR)
    assert gaze.calculate_pcc(gt, sal) == pytest.approx(gaze.calculate_pcc(gt, expected), abs=1e-6)
    assert gaze.calculate_pcc(gt, sal) > 0.9


def test_nss_hand_computed():
    sal = np.array([[0, 1], [2, 3]], float)
    # z = (3 - 1.5) / sqrt(1.25) at the fixation (x=1, y=1)
    expected = 1.5 / math.sqrt(1.25)
    assert gaze.calculate_nss(np.array([[1, 1]]), sal) == pytest.approx(expected)
    assert gaze.calculate_nss(np.array([[1.0, 1.0], [0.0, 0.0]]), sal) == pytest.approx((expected - 1.5 / math.sqrt(1.25)) / 2)
    fix_map = np.zeros((4, 4))
    fix_map[3, 3] = 1  # binary map twice the size: saliency upsampled to 4 x 4
    assert gaze.calculate_nss(fix_map, sal) > 1.0


def test_kld_hand_computed():
    gt = np.array([[1, 1], [0, 0]], float)   # P = [.5, .5, 0, 0]
    sal = np.array([[1, 0], [0, 1]], float)  # Q = [.5, 0, 0, .5]
    expected = 0.5 * math.log(EPS + 0.5 / (0.5 + EPS)) + 0.5 * math.log(EPS + 0.5 / EPS)
    assert gaze.calculate_kld(gt, sal) == pytest.approx(expected)
    assert gaze.calculate_kld(gt, gt) == pytest.approx(0.0, abs=1e-9)


def test_auc_judd_hand_computed():
    sal = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    fix = np.array([[2, 1], [2, 0]])  # values 0.6 and 0.3
    # ROC points (0,0), (0,.5), (.5,1), (1,1): area 0.375 + 0.5
    assert gaze.calculate_auc_judd(fix, sal) == pytest.approx(0.875)
    assert gaze.calculate_auc_judd(np.array([[2, 1]]), sal) == pytest.approx(1.0)
    # the least salient pixel: the only threshold takes every pixel, ROC (0,0), (1,1): 0.5
    assert gaze.calculate_auc_judd(np.array([[0, 0]]), sal) == pytest.approx(0.5)

    # ties: fixations on equal values count together (each was a step of its own, so the curve went
    # back on itself: 13/18 here, and 0.125 for the constant map below)
    tied = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    three = np.array([[2, 0], [2, 1], [0, 0]])  # values 1, 1, 0
    # thresholds 1: TPR 2/3, FPR 0; 0: TPR 1, FPR 1. ROC (0,0), (0,2/3), (1,1): 5/6
    assert gaze.calculate_auc_judd(three, tied) == pytest.approx(5 / 6)
    for flat in (np.zeros((2, 3)), np.full((2, 3), 0.7)):  # no information: chance
        assert gaze.calculate_auc_judd(np.array([[0, 0], [1, 1]]), flat) == pytest.approx(0.5)
