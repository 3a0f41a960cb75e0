"""`hil web`: the lab dashboard (boards, holders, queues, history, utilization), live, in a browser.

`app` builds the ASGI application from a lab and its lease store; `pages` and `charts` render HTML
and SVG on the server; `live` wakes open pages when the store changes; `access` guards the one
action (a forced release) behind an operator token.
"""
