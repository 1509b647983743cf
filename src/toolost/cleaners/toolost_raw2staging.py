"""TooLost raw -> staging.

Input: `raw/toolost/{spotify_streams,apple_streams,sales}/*.csv` (see toolost_landing2raw).
Output: `staging/toolost/{spotify,apple}_streams.parquet`: one row per date across every captured
analytics document, key `date`, the latest extraction winning, so history outlives the
platform's window (which restarts every 1 January). `staging/toolost/sales.parquet`: one row per
`transaction_id` (the key) across every report, re-downloads of a month resolved by the latest
extraction; documented columns as text exactly as in the report, `payable_usd` = the
`TOOLOST_PAYABLE_COLUMN` amount as exact decimal text, `extra_columns` = a JSON object of the
report's undocumented columns (name -> text, in report order), so nothing the report holds is lost.
"""

import functools
import json

from datalake.settings import SettingsError, setting
from datalake.stages.driver import run_stage
from datalake.stages.raw2staging import RawFile, build_staging
from datalake.tables.io import read_csv_text
from datalake.tables.lineage import add_lineage
from datalake.tables.transforms import latest_per_key, plain_decimal_text
from toolost.settings import DEFAULT_PAYABLE_COLUMN, PAYABLE_SETTING, SALES_DOCUMENTED


def sales_lines(report, payable: str):
    """One report's lines in staging shape: documented columns (absent ones empty), `artist`
    if the report has one, `payable_usd` and `extra_columns`."""
    import pyarrow as pa

    empty = pa.array([""] * report.num_rows, pa.string())
    extra = [name for name in report.column_names if name not in SALES_DOCUMENTED]
    extras = [json.dumps(row, ensure_ascii=False) for row in report.select(extra).to_pylist()]
    names = [*SALES_DOCUMENTED, "artist"]
    columns = {n: report.column(n) if n in report.column_names else empty for n in names}
    columns["payable_usd"] = plain_decimal_text(report.column(payable).combine_chunks())
    return pa.table({**columns, "extra_columns": pa.array(extras, pa.string())})


def sales(files: list[RawFile], payable: str = DEFAULT_PAYABLE_COLUMN):
    """Every report's lines; per `transaction_id` the latest extraction wins."""
    tables = []
    for file in files:
        report = read_csv_text(file.path)
        if payable not in report.column_names:
            raise SettingsError(
                f"{PAYABLE_SETTING}={payable!r} is not a column of {file.lineage.source_file}"
                f" (columns: {report.column_names}); fix the setting"
            )
        tables.append(add_lineage(sales_lines(report, payable), file.lineage))
    return latest_per_key(tables, "transaction_id") if tables else iter(())


def daily_streams(files: list[RawFile]):
    """All captured documents' daily points; per date the latest extraction wins."""
    tables = [add_lineage(read_csv_text(f.path), f.lineage) for f in files]
    return latest_per_key(tables, "date") if tables else iter(())


DATASETS = {"spotify_streams": daily_streams, "apple_streams": daily_streams, "sales": sales}


def main() -> None:
    def body(ctx) -> int:
        payable = setting(PAYABLE_SETTING, DEFAULT_PAYABLE_COLUMN)
        return build_staging(ctx, {**DATASETS, "sales": functools.partial(sales, payable=payable)})

    run_stage(__file__, body)


if __name__ == "__main__":
    main()
