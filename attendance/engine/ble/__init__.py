"""BLE presence applied: phone reports into `ble` visits, BLE flags and records.

`apply` is the entry the services call; `segments` replays a phone's reports through the
pure tracker (beacons.presence); `evidence` loads the beacons and keeps their health;
`flags` judges the spoofing rules (beacons.spoofing) over what a replay read;
`checkpoints` stores where each phone's presence resumes, `runs` takes it forward,
`recent` keeps the reads its window detectors look back over, `visits` saves what changed.
"""
