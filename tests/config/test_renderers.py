"""config.renderers.ORJSONRenderer: plain data, decimals and lazy strings are encoded; any
other object is an error, never silently written as its str()."""

from decimal import Decimal

import orjson
import pytest
from django.utils.translation import gettext_lazy

from config.renderers import ORJSONRenderer


def test_decimals_dates_and_lazy_strings_are_encoded():
    body = ORJSONRenderer().render({"n": Decimal("2.5"), "m": gettext_lazy("Invalid input"), 1: None})
    assert orjson.loads(body) == {"n": 2.5, "m": "Invalid input", "1": None}


def test_an_unknown_object_raises_instead_of_being_stringified():
    class Thing:
        pass

    with pytest.raises(TypeError, match="not JSON serializable"):
        ORJSONRenderer().render({"thing": Thing()})
