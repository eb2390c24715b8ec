"""What both HTTP servers share: ports, the status-file protocol, the
inactivity timeout, signals and graceful shutdown."""
