"""The b2i provider: `b2i`, the command its image wraps."""
