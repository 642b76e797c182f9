"""Customer lists as a retention team uploads them: the data set's rows as exported (original spellings,
`customerID`), repeated with fresh IDs, plus `email` and `name`. For the campaign tests and benchmark."""
from __future__ import annotations

import csv
import io

from harness import DATA


def telco_csv(n: int, prefix: str = "K", extra: dict[int, dict[str, str]] | None = None) -> bytes:
    """`n` rows; `extra` overrides cells of chosen rows (by 0-based row number) to make them bad or odd."""
    with open(DATA, newline="") as f:
        rows = list(csv.DictReader(f))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*rows[0].keys(), "email", "name"])
    writer.writeheader()
    for i in range(n):
        row = {**rows[i % len(rows)], "customerID": f"{prefix}{i:06d}", "email": f"{prefix.lower()}{i}@example.com",
               "name": f"Customer {i}"}
        writer.writerow({**row, **(extra or {}).get(i, {})})
    return out.getvalue().encode()
