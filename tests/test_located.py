"""A shared location's words (bot.channels.located): written once, read back by the
alert's map pin (pin_of) and by the voice call (spoken_place), by one pattern."""

from __future__ import annotations

import pytest

from bot.channels import located, pin_of, spoken_place


@pytest.mark.parametrize(("names", "spoken"), [
    (("二号门", "和平路 8 号"), "二号门, 和平路 8 号"),
    (("北门 (铸造车间旁)",), "北门 (铸造车间旁)"),  # brackets in the name
    ((), "31.23042, 121.47370"),  # no name: the coordinates are read
])
def test_a_place_written_is_read_back_by_the_pin_and_the_voice(
        names: tuple[str, ...], spoken: str) -> None:
    place = located(31.23042, 121.4737, *names)
    alert = f"【紧急】E-2026-0001\n情况：着火\n地点：{place}\n人数：（未填）"
    assert pin_of(alert) == (31.23042, 121.4737)
    assert spoken_place(place) == spoken


def test_a_text_without_a_shared_location_has_no_pin_and_is_read_as_written() -> None:
    assert pin_of("地点：厂门口 (31.2, 121.4)") is None  # no 📍: typed, not shared
    assert pin_of("地点：📍 月球 (131.00000, 121.00000)") is None  # no such latitude
    assert spoken_place("厂门口") == "厂门口"
