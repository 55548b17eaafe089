"""The built-in web dashboard, served by the API process at `/` (see routes.py).

Server-rendered HTML (no template engine: small escape-safe builders in html.py), plotly.js
served from the installed plotly package, the API's tokens via a login form and a session
cookie. `router` is included by `monitor.api.app.create_app`.
"""

from monitor.web import marks
from monitor.web.routes import router

router.include_router(marks.router)

__all__ = ["router"]
