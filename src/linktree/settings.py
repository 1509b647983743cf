"""Linktree constants: the GraphQL operation, what counts as personal data."""

SERVICE = "linktree"
ANALYTICS = "getAccountAnalytics"  # the operation whose answer the lake reads
RANGE_DAYS = 365  # the longest daily range the analytics page offers
# Keys that mark personal data of the account holder or of subscribers, anywhere in a response
# (current user, wallet and balances, payment details, subscriber lists).
PERSONAL_KEYS = frozenset(
    {"email", "currentUser", "wallet", "balance", "paymentDetails", "getSubscribers"}
)
# The breakdowns an analytics answer may carry besides the daily series (kept in raw).
SECTIONS = ("links", "socials", "referrers", "locations", "devices")
