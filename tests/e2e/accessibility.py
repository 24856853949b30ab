"""axe-core (tests/data/axe-core, vendored from npm) run in a real Chromium on a page, and
the page's width checked: what every page test of tests/e2e/test_accessibility.py asks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[1] / "data" / "axe-core" / "axe.min.js"
# Full WCAG 2.2 A and AA, and axe's best practices (landmarks, one h1, skip links...).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
WIDTHS = {"phone": (390, 844), "desk": (1366, 768)}
NARROWEST = 320

_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return {
    passes: result.passes.length,
    violations: result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + " :: " + n.failureSummary),
    })),
  };
}"""
_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("body *")].filter((el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1 && getComputedStyle(el).position !== "fixed";
  }).slice(0, 3).map((el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : ""));
  return {scroll: document.documentElement.scrollWidth, width, wide};
}"""


def install_axe(context: Any) -> None:
    """Make axe available in every page of ``context`` (an init script: the pages' CSP,
    which allows no inline script, is left as it is)."""
    context.add_init_script(path=str(AXE))


@dataclass
class Findings:
    """Violations and overflows of every page checked, reported together at the end."""

    artifacts: Path
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def check(self, page: Any, name: str) -> None:
        """axe at 390 and 1366 px, a screenshot of each, and no sideways scroll at 320 px."""
        page.wait_for_load_state("load")
        page.evaluate("() => document.fonts.ready.then(() => true)")  # drawn as seen
        original = page.viewport_size
        for label, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            result = page.evaluate(_RUN, AXE_TAGS)
            # axe ran for real: a page passes dozens of its checks (labels, contrast...).
            assert result["passes"] >= 10, f"{name}: axe checked almost nothing"
            for violation in result["violations"]:
                self.problems.append(
                    f"{name} @{width}px: {violation['id']} ({violation['impact']}) "
                    f"{violation['help']}: {violation['nodes']}"
                )
            page.screenshot(path=str(self.artifacts / f"a11y-{name}-{label}.png"), full_page=True)
        page.set_viewport_size({"width": NARROWEST, "height": 640})
        overflow = page.evaluate(_OVERFLOW)
        if overflow["scroll"] > overflow["width"]:
            self.problems.append(f"{name} @320px scrolls sideways: {overflow}")
        if original:
            page.set_viewport_size(original)
        self.checked.append(name)

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(self.problems)
