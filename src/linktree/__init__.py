"""Linktree service: daily views and clicks from the admin dashboard's GraphQL answers."""
