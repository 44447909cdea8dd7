"""What the GitHub client raises. Every failure is a :class:`GitHubError`, so a caller that
publishes best-effort catches one class."""

from __future__ import annotations


class GitHubError(Exception):
    """GitHub answered with an error (``status``) or could not be reached (``status`` 0)."""

    def __init__(self, message: str, *, status: int = 0, method: str = "", path: str = ""):
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method else ""
        code = f"{self.status} " if self.status else ""
        return f"GitHub {where}{code}{self.args[0]}"


class GitHubRateLimited(GitHubError):
    """GitHub refused for a rate limit and the call may not (or no longer) wait: either the wait
    exceeds the configured bound or the call is not safe to repeat. ``retry_after`` is the
    number of seconds GitHub asked for."""

    def __init__(self, message: str, *, retry_after: float, status: int = 0, method: str = "",
                 path: str = ""):
        super().__init__(message, status=status, method=method, path=path)
        self.retry_after = retry_after


class GitHubTooLarge(GitHubError):
    """A download (job log, artifact) is larger than the caller's bound."""
