"""Mailchimp constants: the fields each table needs (nothing naming a subscriber), limits."""

SERVICE = "mailchimp"
KEY_PATTERN = r"[0-9A-Za-z]{8,64}-[a-z]{2,4}[0-9]{1,3}"  # `<key>-<data centre>`, e.g. ...-us19
DEFAULT_PAGE_SIZE = 1000  # Mailchimp's maximum `count` (its default of 10 silently truncates)
DEFAULT_RECENT_DAYS = 30  # reports of campaigns sent this recently are read again every run
DEFAULT_CONNECTIONS = 4  # requests in flight at once; Mailchimp allows 10 per account
MAX_CONNECTIONS = 10
RECENT_STATUSES = "sent,sending"  # drafts (save), scheduled and paused campaigns have no report
# Only what the tables need (`fields=`): never member lists, never anything naming a subscriber.
LIST_FIELDS = "lists.id,lists.name,lists.date_created,lists.stats.member_count,total_items"
GROWTH_FIELDS = (
    "history.list_id,history.month,history.existing,history.imports,history.optins,"
    "history.subscribed,history.unsubscribed,history.reconfirm,history.cleaned,"
    "history.pending,history.deleted,history.transactional,total_items"
)
CAMPAIGN_FIELDS = (
    "campaigns.id,campaigns.status,campaigns.send_time,campaigns.emails_sent,"
    "campaigns.settings.title,campaigns.recipients.list_id,total_items"
)
REPORT_FIELDS = (
    "id,campaign_title,list_id,send_time,emails_sent,unsubscribed,bounces.hard_bounces,"
    "bounces.soft_bounces,opens.unique_opens,opens.open_rate,clicks.unique_clicks,"
    "clicks.click_rate"
)
RENEW_HINT = (
    "the API key was revoked or mistyped: create one in Mailchimp (profile > Extras > API keys), "
    "set MAILCHIMP_API_KEY, then check it: python src/mailchimp/extractors/mailchimp_extractor.py"
    " --login"
)
