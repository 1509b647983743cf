"""Getting data out of the platforms into landing: the shared extractor machinery, the HTTP client
for APIs, browser sessions for dashboards.
"""
