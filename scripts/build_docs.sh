#!/usr/bin/env bash
# Build the docs site offline (no Quarto needed) and regenerate README.md:
#
#   bash scripts/build_docs.sh        # -> _docs/index.html, one page per notebook, _docs/reference/<module>.html
#
# scripts/docs.py processes nbs/ with nbdev's own `proc_nbs` (into _proc/, as `nbdev_docs` does before Quarto),
# stages the processed notebooks and the API pages into _mkdocs/, writes _mkdocs.yml (mkdocs.yml + the nav) and
# README.md; mkdocs-material + mkdocs-jupyter (stored outputs, nothing executed) + mkdocstrings render the site.
# Where Quarto exists, `nbdev_docs` (nbs/_quarto.yml) builds nbdev's usual Quarto site instead.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-$PWD/.venv}
"$VENV/bin/python" scripts/docs.py
NO_MKDOCS_2_WARNING=1 "$VENV/bin/mkdocs" build --clean --quiet --config-file _mkdocs.yml
touch _docs/.nojekyll
echo "[docs] done in ${SECONDS}s: _docs/index.html, $(ls _docs/*.html | grep -vc 404.html) notebook pages," \
     "$(ls _docs/reference | wc -l) API pages (_docs/reference/)"
