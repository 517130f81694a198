"""What a columnar parser would cost (issue 19: measure, then decide) — a probe, not Usher's code.

``python -m bench.columnar_probe`` reads ``make bench``'s 1M-row file with pyarrow's CSV reader
(a dependency since the parser checks its columns with it: shared.values.columns), runs checks
of the same shape as the parser's on its columns with ``pyarrow.compute`` — stand-ins, not
Usher's rules: an email regex and lower-casing, trimming, an E.164-shaped phone regex, dates,
numbers, booleans, tags split — and prints the CPU a row of each step (best of three),
including what handing the rows on as Python objects would cost, against which the parser's
~13 µs a row (CSV reader ~2.8, validation ~9.7, at best) and the merger's JSON decode (~3.6)
compare.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench import DATA

COLUMNS = (
    "email,user_id,name,phone,signed_up_at,last_seen_at,last_seen_ip,tags,plan,seats,mrr,beta"
).split(",")
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _best(step: Callable[[], Any], times: int = 3) -> tuple[float, Any]:
    """The least CPU seconds of ``times`` runs of ``step``, and its result."""
    least, out = float("inf"), None
    for _ in range(times):
        began = time.process_time()
        out = step()
        least = min(least, time.process_time() - began)
    return least, out


def main() -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    path = DATA / "import-1000000.csv"
    if not path.exists():
        raise SystemExit(f"{path} is made by make bench; run it once first")

    def read() -> Any:
        return pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(block_size=1 << 22),
            convert_options=pcsv.ConvertOptions(
                column_types={c: pa.string() for c in COLUMNS}, strings_can_be_null=False
            ),
        )

    def validate(t: Any) -> Any:
        trim = pc.utf8_trim_whitespace
        email = trim(t["email"])
        ok = pc.match_substring_regex(email, EMAIL)
        phone = trim(t["phone"])
        ok = pc.and_(ok, pc.match_substring_regex(phone, r"^\+[1-9][0-9]{6,14}$"))
        ip = trim(t["last_seen_ip"])
        ok = pc.and_(ok, pc.match_substring_regex(ip, r"^\d{1,3}(\.\d{1,3}){3}$"))
        return pa.table(
            {
                "email": pc.utf8_lower(email),
                "user_id": trim(t["user_id"]),
                "name": trim(t["name"]),
                "phone": phone,
                "signed_up_at": pc.strptime(
                    t["signed_up_at"], format="%Y-%m-%d", unit="us", error_is_null=True
                ),
                "last_seen_at": pc.cast(pc.cast(t["last_seen_at"], pa.int64()), pa.timestamp("s")),
                "last_seen_ip": ip,
                "tags": pc.split_pattern(t["tags"], ","),
                "plan": t["plan"],
                "seats": pc.cast(t["seats"], pa.int64()),
                "mrr": pc.cast(t["mrr"], pa.float64()),
                "beta": pc.equal(pc.utf8_lower(t["beta"]), "true"),
                "ok": ok,
            }
        )

    def ipc(t: Any) -> Any:
        sink = pa.BufferOutputStream()
        options = pa.ipc.IpcWriteOptions(compression="zstd")
        with pa.ipc.new_stream(sink, t.schema, options=options) as writer:
            for batch in t.to_batches(max_chunksize=5000):
                writer.write_batch(batch)
        return sink.getvalue()

    read_s, table = _best(read)
    rows = table.num_rows
    sample = table.slice(0, 200_000).combine_chunks()
    # The malformed rows (a number that is not one) would go the Python way.
    sample = sample.filter(pc.match_substring_regex(sample["seats"], r"^\d+$"))
    validate_s, checked = _best(lambda: validate(sample))
    part = checked.slice(0, 50_000)
    dicts_s, _ = _best(lambda: part.to_pylist(), 2)
    lists_s, _ = _best(lambda: [part.column(n).to_pylist() for n in part.column_names], 2)
    ipc_s, packed = _best(lambda: ipc(checked))
    n = sample.num_rows
    print(f"pyarrow {pa.__version__}, {rows:,} rows; CPU a row, best of runs:")
    print(f"| CSV read, 12 columns as text | {read_s / rows * 1e6:.2f} µs |")
    print(f"| the checks and conversions, vectorised | {validate_s / n * 1e6:.2f} µs |")
    print(
        f"| Arrow IPC, zstd, 5,000-row batches | {ipc_s / n * 1e6:.2f} µs, {packed.size / n:.0f} bytes |"
    )
    print(f"| back to Python: dicts (to_pylist) | {dicts_s / 50_000 * 1e6:.2f} µs |")
    print(f"| back to Python: a list per column | {lists_s / 50_000 * 1e6:.2f} µs |")


if __name__ == "__main__":
    main()
