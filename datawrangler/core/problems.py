"""What preflight found: the problems that refuse an offload before a byte moves (errors) and those it only
says (warnings), each with a stable code and a message that says what to do."""

from __future__ import annotations

from dataclasses import dataclass, field

from datawrangler.core.errors import Code, OffloadError


@dataclass(frozen=True)
class Problem:
    code: Code
    message: str
    path: str = ""


@dataclass
class Preflight:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        if self.errors:
            first = self.errors[0]
            more = f" (and {len(self.errors) - 1} more problems)" if len(self.errors) > 1 else ""
            raise OffloadError(first.code, first.message + more, path=first.path)


