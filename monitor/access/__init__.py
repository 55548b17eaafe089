"""Access control shared by the HTTP API and the web dashboard: bearer tokens and their scopes
(`auth`), and the throttle of failed tokens and logins per client address (`throttle`)."""
