"""rnnviz.classroom.identity: a browser's owner id is stable over its reloads and its own."""

from __future__ import annotations

from rnnviz.classroom.identity import owner_from_account, owner_from_xsrf, valid_owner

# Two page loads of one browser (the same token, masked anew), then another browser's: as seen.
FIRST = "2|2582a06a|245891a8148b59da6085788e76f52e90|1796159295"
RELOAD = "2|d2f15f8e|d32b6e4ce3f8a63e97f6876a8186d174|1796159295"
OTHER = "2|5b1f38db|cc429bac38e1af672e4ea1ce1ff5490e|1796159300"


def test_one_browser_one_owner_over_reloads_and_another_browser_another() -> None:
    first = owner_from_xsrf(FIRST)
    assert first is not None and valid_owner(first) and len(first) == 16
    assert owner_from_xsrf(RELOAD) == first
    assert owner_from_xsrf(OTHER) not in (None, first)
    assert "01da31c2" not in first  # the token itself is never the id


def test_odd_cookies_give_no_owner_and_odd_ids_are_refused() -> None:
    odd = (None, "", "2|zz|00|1", "1|2582a06a|245891a8148b59da6085788e76f52e90|1", object())
    for cookie in odd:
        assert owner_from_xsrf(cookie) is None
    assert valid_owner(owner_from_account("student@school.example"))
    assert owner_from_account("a") != owner_from_account("b")
    for bad in ("١٢٣٤٥٦٧٨٩٠", "CON", "abc", "ABCDEF123456", "../../etc", 12345678):
        assert not valid_owner(bad)  # Unicode digits, reserved names, too short, not hex
