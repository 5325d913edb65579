"""``destination_countries``: many numbers at once, the same countries as ``destination_country``."""

from __future__ import annotations

import random

from alphasms.messaging.services.cost import destination_countries, destination_country


def test_it_names_the_same_country_as_parsing_each_number():
    rng = random.Random(5)
    numbers = [
        "+" + str(rng.randint(1, 999)) + "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 13)))
        for _ in range(3000)
    ]
    numbers += ["+4915112345678", "+436641234567", "+12125551234", "+18092345678", "+447911123456"]
    numbers += ["+79161234567", "+77012345678", "+80012345678", "", "0151 123", "+49", "+4915112345678"]
    found = destination_countries(numbers)
    assert found == {n: destination_country(n) for n in numbers}
    assert [found[n] for n in ("+4915112345678", "+12125551234", "+18092345678", "+77012345678")] == [
        "DE",
        "US",
        "DO",
        "KZ",
    ]
