"""Meta Ads (Marketing API): ad objects and daily insights, from the Graph API to curated."""
