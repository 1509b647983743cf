"""Mailchimp service: audience growth and campaign reports through the Marketing API v3."""
