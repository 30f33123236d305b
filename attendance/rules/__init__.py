"""The attendance decisions as plain functions over plain data.

Nothing here imports Django, MQTT or Redis, and nothing reads the clock: callers pass the
evidence and the moment in, so every rule is testable with literals.
"""
