"""The service's guards: what keeps one request from costing the others.

- :mod:`.middleware`: body limits while the body streams in, security headers, the
  quick path for ``/nearest``;
- :mod:`.http_limits`: limits on the request head while it arrives (uvicorn protocol);
- :mod:`.budget`: the bounded pool for expensive requests and siting's per-client rate.
"""
