"""Extracts the SatNOGS DB transmitters of the satellites in the CelesTrak amateur
catalog (data/tle/celestrak_amateur_2026-08-29.txt) from the full SatNOGS DB dump
(../shared/data/satnogs/satnogs_db_transmitters_2024-09.json), keeping only alive,
active transmitters with a downlink. Run from the repository root:

    python3 data/satnogs/extract_amateur_transmitters.py ../shared/data/satnogs/satnogs_db_transmitters_2024-09.json
"""
import json
import sys

src = sys.argv[1]
lines = open("data/tle/celestrak_amateur_2026-08-29.txt").read().splitlines()
norads = {int(l[2:7]) for l in lines if l.startswith("1 ")}
keep = [
    t
    for t in json.load(open(src))
    if t.get("norad_cat_id") in norads and t.get("alive") and t.get("status") == "active" and t.get("downlink_low")
]
keep.sort(key=lambda t: (t["norad_cat_id"], t["uuid"]))
json.dump(keep, open("data/satnogs/satnogs_transmitters_amateur_2024-09.json", "w"), indent=1)
print(f"{len(keep)} transmitters for {len({t['norad_cat_id'] for t in keep})} of {len(norads)} satellites")
