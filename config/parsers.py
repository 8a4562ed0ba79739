"""The API's JSON parser: a body that cannot be parsed safely is a 400 in the envelope.

DRF's parser lets two failures escape as 500s: JSON nested deeper than Python's recursion limit
(`RecursionError`) and integers longer than `int()` accepts (4,300 digits). Here a number too
long for `int()` stays its digit string (so a 5,000-digit `userId` is one REJECTED item, not a
lost batch), and a body nested deeper than MAX_BODY_DEPTH is refused as a whole.
"""

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

from targets.limits import json_depth_ok

MAX_BODY_DEPTH = 64
MAX_INT_DIGITS = 4000  # below sys.get_int_max_str_digits() (4,300)


def _parse_int(text: str):
    return int(text) if len(text) <= MAX_INT_DIGITS else text


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            text = raw.decode(encoding) if isinstance(raw, bytes) else raw
            data = json.loads(text, parse_int=_parse_int, parse_constant=strict_constant)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_BODY_DEPTH} levels") from None
        except (ValueError, LookupError) as exc:  # UnicodeDecodeError, JSONDecodeError, bad charset
            raise ParseError(f"JSON parse error - {str(exc)[:200]}") from None
        if not json_depth_ok(data, max_depth=MAX_BODY_DEPTH):
            raise ParseError(f"JSON nested deeper than {MAX_BODY_DEPTH} levels")
        return data
