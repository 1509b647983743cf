"""DistroKid constants: statement layouts, column names, stats page markers."""

SERVICE = "distrokid"  # folder and zone name; the `source` of its rows in shared tables

BANK_13 = (
    "Reporting Date",
    "Sale Month",
    "Store",
    "Artist",
    "Title",
    "ISRC",
    "UPC",
    "Quantity",
    "Team Percentage",
    "Song/Album",
    "Country of Sale",
    "Songwriter Royalties Withheld",
    "Earnings (USD)",
)
BANK_15 = (
    "Date Inserted",
    "Reporting Date",
    "Sale Month",
    "Store",
    "Artist",
    "Title",
    "ISRC",
    "UPC",
    "Quantity",
    "Team Percentage",
    "Source Type",
    "Country of Sale",
    "Songwriter Royalties Withheld (USD)",
    "Earnings (USD)",
    "Recoup (USD)",
)
# Export column -> staging column (both layouts map onto one staging table).
STAGING_NAMES = {
    "Date Inserted": "date_inserted",
    "Reporting Date": "reporting_date",
    "Sale Month": "sale_month",
    "Store": "store",
    "Artist": "artist",
    "Title": "title",
    "ISRC": "isrc",
    "UPC": "upc",
    "Quantity": "quantity",
    "Team Percentage": "team_percentage",
    "Song/Album": "source_type",
    "Source Type": "source_type",
    "Country of Sale": "country",
    "Songwriter Royalties Withheld": "songwriter_royalties_withheld_usd",
    "Songwriter Royalties Withheld (USD)": "songwriter_royalties_withheld_usd",
    "Earnings (USD)": "earnings_usd",
    "Recoup (USD)": "recoup_usd",
}
LAYOUTS = {13: BANK_13, 15: BANK_15}

SPOTIFY_CHART_ID = "trend365day"
LOGIN_MARKERS = ('type="password"', "type='password'", "Sign in | DistroKid", 'name="password"')
