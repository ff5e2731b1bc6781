"""The price book's bounded memo (issue 19): memory flat in the number of states priced."""

import pytest

from core.memo import BoundedMemo


def test_the_least_recently_used_entry_goes_first_once_full():
    memo = BoundedMemo(2)
    memo["a"] = 1
    memo["b"] = 2
    assert memo.get("a") == 1  # "a" used: "b" is now the oldest
    memo["c"] = 3
    assert list(memo) == ["a", "c"]
    assert memo.get("b") is None
    assert (memo.hits, memo.misses) == (1, 1)


def test_it_never_holds_more_than_its_size():
    memo = BoundedMemo(100)
    for n in range(10_000):
        memo[(n, "state")] = [n]
        assert memo.get((n, "state")) == [n]
    assert len(memo) == 100
    assert (9_999, "state") in memo and (0, "state") not in memo


def test_a_memo_keeps_at_least_one_entry():
    with pytest.raises(ValueError, match="at least one"):
        BoundedMemo(0)


def test_the_price_book_memo_is_bounded_by_the_setting(settings):
    from subscriptions.charges import PriceBook

    settings.PRICE_MEMO_SIZE = 3
    book = PriceBook()
    for n in range(5):
        book.memo[("key", n)] = [n]
    assert len(book.memo) == 3
