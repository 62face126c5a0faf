"""The domain: facts, definitions and their derivation. Pure: no IO, nothing imported
from outside this package but the standard library and pydantic."""
