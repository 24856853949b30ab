"""Build hook: the wheel carries compiled message catalogues.

The ``.mo`` files are build output, not kept in git (``scripts/setup.sh`` compiles them for
a development checkout). ``pip install .`` and ``pip wheel .`` run this ``build_py``,
which compiles every ``messages.po`` into the built package with Babel, so an ordinary
installation speaks every language too. All other metadata is in ``pyproject.toml``.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGUES = Path("citizen_card") / "translations"


class BuildPyWithCatalogues(build_py):
    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in sorted(CATALOGUES.glob("*/LC_MESSAGES/messages.po")):
            target = Path(self.build_lib) / po.with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as source:
                catalogue = read_po(source, locale=po.parent.parent.name)
            with target.open("wb") as output:
                write_mo(output, catalogue)


setup(cmdclass={"build_py": BuildPyWithCatalogues})
