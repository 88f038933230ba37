"""A worker's share of a run (processes=N): users by id, the closed profile's shape kept as a
whole, the open model's arrivals interleaved, iterations split exactly."""

from __future__ import annotations

import pytest

from pytest_loadtest._engine._share import WHOLE, Share, SharedArrivals
from pytest_loadtest._model._shapes import Arrivals, Profile


@pytest.mark.parametrize("workers", [1, 2, 3, 7])
@pytest.mark.parametrize("total", [0, 1, 5, 6, 100, 101])
def test_counts_add_up_to_the_whole(workers: int, total: int) -> None:
    counts = [Share(k, workers).count(total) for k in range(workers)]
    assert sum(counts) == total
    assert max(counts) - min(counts) <= 1


def test_global_ids_are_unique_and_dealt_round_robin() -> None:
    ids = [Share(k, 3).global_id(j) for k in range(3) for j in range(4)]
    assert sorted(ids) == list(range(12))
    assert Share(1, 3).global_id(2) == 7


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_users_follow_the_whole_profile_together(workers: int) -> None:
    whole = Profile.from_stages([(10.0, 10.0), (5.0, 10.0), (10.0, 3.0)])
    shares = [Share(k, workers) for k in range(workers)]
    profiles = [share.users(whole) for share in shares]
    for t in [0.0, 0.5, 1.2, 3.3, 7.0, 10.0, 12.5, 15.0, 17.9, 22.0, 25.0, 30.0]:
        # users running at t: user i (of the whole) runs while the profile exceeds i
        running_whole = sum(1 for i in range(10) if whole.at(t) > i)
        running = sum(
            1
            for share, profile in zip(shares, profiles, strict=True)
            for j in range(share.count(10))
            if profile.at(t) > j
        )
        assert running == running_whole, t
    # each user starts when it would in the whole run
    for k, (share, profile) in enumerate(zip(shares, profiles, strict=True)):
        for j in range(share.count(10)):
            assert profile.first_above(j) == pytest.approx(whole.first_above(j * workers + k))


def test_arrivals_interleave_and_keep_the_whole_schedule() -> None:
    arrivals = Arrivals(Profile.from_stages([(10.0, 100.0)]))
    shares = [SharedArrivals(arrivals, Share(k, 3)) for k in range(3)]
    due = sorted(shared.due_ns(j, 0) for shared in shares for j in range(50))
    assert due == [arrivals.due_ns(m, 0) for m in range(150)]
    assert shares[1].time_of(0) == arrivals.time_of(1)


def test_limits_split_exactly() -> None:
    assert [Share(k, 3).limit(10) for k in range(3)] == [4, 3, 3]
    assert Share(2, 3).limit(None) is None
    assert WHOLE.limit(10) == 10


def test_pool_limits_and_rates() -> None:
    assert [Share(k, 4).max_users(6) for k in range(4)] == [2, 2, 1, 1]
    assert Share(3, 4).max_users(2) == 1  # never an empty pool
    assert Share(0, 4).rate(100.0) == 25.0


def test_a_share_must_be_one() -> None:
    with pytest.raises(ValueError, match="worker 3 of 3"):
        Share(3, 3)
    with pytest.raises(ValueError, match="worker 0 of 0"):
        Share(0, 0)
    assert WHOLE.whole
    assert not Share(0, 2).whole
