"""The engine's Django side: load evidence in bulk, run attendance.rules, save the difference.

Modules: `days` (the school's local day), `loading` (bulk loaders returning rule data),
`doors` (replay student-days into visits and travel flags), `crowd` (several cards at one
door), `records` (attendance records, revisions, flag strings), `flags` (replace derived
flags), `tick` (time-driven closing and finalising). `attendance.services` is the facade.
"""
