"""The CLIP-MG paper is cited the same way everywhere: the three authors, in order, and arXiv:2506.16385.

Checked files: ``CITATION.cff`` (parsed with PyYAML), ``README.md``, ``docs/RECONSTRUCTION.md``,
``docs/RESULTS.md`` and the first (markdown) cell of every numbered notebook. In the prose files every mention
of the first author must be the full author list (full names, surnames or initials), and the first arXiv id
after it must be the paper's.
"""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

#: The paper's authors, in order (arXiv:2506.16385 and the MiGA@IJCAI25 proceedings).
AUTHORS = [("Santosh", "Patapati"), ("Trisanth", "Srinivasan"), ("Amith", "Adiraju")]
ARXIV_ID = "2506.16385"
IMIGUE_AUTHORS = ["Liu", "Shi", "Chen", "Yu", "Li", "Zhao"]

#: "Patapati, Srinivasan and Adiraju", "Santosh Patapati, Trisanth Srinivasan, Amith Adiraju",
#: "S. Patapati, T. Srinivasan, A. Adiraju" all match; any other second or third author does not.
AUTHOR_LIST = re.compile(
    r"Patapati\W+(?:and\s+)?(?:(?:Trisanth|T\.)\s+)?Srinivasan\W+(?:and\s+)?(?:(?:Amith|A\.)\s+)?Adiraju\b"
)
ARXIV_LIKE = re.compile(r"\b\d{4}\.\d{4,5}\b")
#: How far after an author list the paper's arXiv id may come (a full title sits between them).
ID_WINDOW = 400


def citation_problems(name: str, text: str) -> list[str]:
    """What is wrong with how ``text`` (the file ``name``) cites CLIP-MG; empty when it is right.

    Every "Patapati" must start a full, correct author list; there must be at least one; the first arXiv-like
    id within ``ID_WINDOW`` characters after each list must be ``ARXIV_ID``; the file must contain it.
    """
    problems = []
    starts = [m.start() for m in re.finditer(r"Patapati", text)]
    lists = {m.start(): m for m in AUTHOR_LIST.finditer(text)}
    if not starts:
        problems.append(f"{name}: does not name the authors of CLIP-MG")
    for start in starts:
        match = lists.get(start)
        if match is None:
            snippet = " ".join(text[start:start + 80].split())
            problems.append(f"{name}: author list is not Patapati, Srinivasan, Adiraju: {snippet!r}")
            continue
        ids = ARXIV_LIKE.findall(text[match.end():match.end() + ID_WINDOW])
        if ids and ids[0] != ARXIV_ID:
            problems.append(f"{name}: the arXiv id after the author list is {ids[0]}, not {ARXIV_ID}")
    if ARXIV_ID not in text:
        problems.append(f"{name}: arXiv:{ARXIV_ID} is missing")
    return problems


def _notebook_first_cells() -> dict[str, str]:
    cells = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        first = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
        assert first["cell_type"] == "markdown", f"{path.name}: the first cell is not markdown"
        cells[f"notebooks/{path.name} (first cell)"] = "".join(first["source"])
    return cells


def _prose_files() -> dict[str, str]:
    texts = {rel: (ROOT / rel).read_text(encoding="utf-8")
             for rel in ("README.md", "docs/RECONSTRUCTION.md", "docs/RESULTS.md")}
    texts.update(_notebook_first_cells())
    return texts


@pytest.fixture(scope="module")
def cff() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def test_citation_cff_cites_the_paper(cff):
    paper = cff["preferred-citation"]
    names = [(a["given-names"], a["family-names"]) for a in paper["authors"]]
    assert names == AUTHORS
    assert "CLIP-MG" in paper["title"]
    ids = [i["value"] for i in paper.get("identifiers", [])] + [paper.get("url", "")]
    assert any(ARXIV_ID in i for i in ids), ids
    assert all(ARXIV_ID in i for i in ids if "arxiv" in i.lower()), ids
    assert citation_problems("CITATION.cff abstract", cff["abstract"]) == []


def test_citation_cff_cites_imigue_and_matches_the_package(cff):
    imigue = [r for r in cff["references"] if "iMiGUE" in r["title"]]
    assert len(imigue) == 1
    assert [a["family-names"] for a in imigue[0]["authors"]] == IMIGUE_AUTHORS
    assert imigue[0]["year"] == 2021
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert str(cff["version"]) == project["version"]
    assert cff["license"] == project["license"]


@pytest.mark.parametrize("name", sorted(_prose_files()))
def test_prose_cites_the_paper_consistently(name):
    assert citation_problems(name, _prose_files()[name]) == []


@pytest.mark.parametrize("wrong", [
    "CLIP-MG (Patapati, Srinivasan, Ayithapu, 2025, arXiv:2506.16385)",
    "CLIP-MG (Santosh Patapati, Trisanth Srinivasan and Amith Adiraju, arXiv:2506.16835)",
    "CLIP-MG (Patapati et al., arXiv:2506.16385)",
    "CLIP-MG by Santosh Patapati, Trisanth Srinivasan and Amith Adiraju.",
])
def test_the_check_catches_a_wrong_citation(wrong):
    assert citation_problems("example", wrong) != []


def test_the_check_accepts_the_forms_in_use():
    for right in ("Patapati, Srinivasan and Adiraju (arXiv 2506.16385)",
                  "Santosh Patapati, Trisanth Srinivasan, Amith Adiraju. CLIP-MG. arXiv:2506.16385",
                  "S. Patapati, T. Srinivasan, A. Adiraju. CLIP-MG. MiGA@IJCAI25; arXiv:2506.16385."):
        assert citation_problems("example", right) == []
