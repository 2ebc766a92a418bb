"""The one piece of packaging that pyproject.toml cannot say: ship specs/ as `archcalc/specs`.

specs/ stays at the top of the repository (the one source of the model zoo); every folder
under it is mapped into the package and every *.yaml / *.yml file in it ships, so a spec
added there needs no list edited. Everything else is in pyproject.toml.
"""

from pathlib import Path

from setuptools import find_packages, setup

ZOO = Path("specs")
zoo_packages = ["archcalc.specs", *("archcalc.specs." + ".".join(d.relative_to(ZOO).parts)
                                  for d in sorted(ZOO.rglob("*")) if d.is_dir() and not d.name.startswith("."))]

setup(
    packages=[*find_packages(include=["archcalc", "archcalc.*"]), *zoo_packages],
    package_dir={"archcalc.specs": str(ZOO)},
    package_data={"archcalc": ["py.typed"], **{p: ["*.yaml", "*.yml"] for p in zoo_packages}},
)
