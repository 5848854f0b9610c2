"""The print edition's accessibility structure, read with pikepdf: the seed issue's PDF has
its language, shows its title in the viewer, and carries a structure tree of headings,
lists, tables, links and described figures, with the terms appendix in reading order."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pikepdf
import pypdf
import pytest

from tests.conftest import MKDOCS, REPO

pytestmark = pytest.mark.slow

SEED = "2026-11-26-email-servers.md"
ALT = "How a message travels from the sender's server to the reader's"


def _png(width: int, height: int) -> bytes:
    raw = b"".join(b"\x00" + b"\x3f\x51\xb5" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _build_seed(root: Path, alt: str) -> subprocess.CompletedProcess[str]:
    """The repository's project, its seed issue with one image, built with PDFs."""
    root.mkdir()
    for name in ("docs", "newsletters"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    (root / "newsletters" / "images").mkdir(exist_ok=True)
    (root / "newsletters" / "images" / "flow.png").write_bytes(_png(60, 24))
    issue = root / "newsletters" / SEED
    text = issue.read_text(encoding="utf-8")
    issue.write_text(
        text.replace(
            "## Email Port Numbers",
            f"![{alt}](images/flow.png)\n\n## Email Port Numbers",
            1,
        ),
        encoding="utf-8",
    )
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "-f", str(root / "mkdocs.yml")],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )


@pytest.fixture(scope="module")
def seed_pdf(tmp_path_factory) -> Path:
    """The seed issue's PDF, with one described image added."""
    root = tmp_path_factory.mktemp("pdf-structure") / "letter"
    proc = _build_seed(root, ALT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root / "site" / "issues" / "2026" / "email-servers" / "email-servers.pdf"


def test_an_image_without_alt_text_stops_the_strict_build(tmp_path) -> None:
    """A figure without /Alt would fail PDF/UA: WeasyPrint's complaint is the issue's
    warning, so ``make`` (strict) stops and ``send`` would refuse the issue."""
    proc = _build_seed(tmp_path / "letter", "")
    assert proc.returncode != 0
    assert (
        f'newsletters/{SEED}: PDF: Image "https://newsletter.example.org/newsletters/images/'
        'flow.png" has no required alt description'
    ) in proc.stderr


def _marked_text(path: Path) -> dict[tuple[int, int], str]:
    """The text of each marked-content sequence, by (page index, MCID)."""
    texts: dict[tuple[int, int], str] = {}
    for index, page in enumerate(pypdf.PdfReader(path).pages):
        stack: list[int | None] = []

        def before(op, args, cm, tm, stack=stack):
            if op == b"BDC":
                props = args[1] if len(args) > 1 else None
                mcid = props.get("/MCID") if hasattr(props, "get") else None
                stack.append(None if mcid is None else int(mcid))
            elif op == b"BMC":
                stack.append(None)
            elif op == b"EMC" and stack:
                stack.pop()

        def text(t, cm, tm, font, size, stack=stack, index=index):
            mcid = next((m for m in reversed(stack) if m is not None), None)
            if mcid is not None:
                texts[index, mcid] = texts.get((index, mcid), "") + t

        page.extract_text(visitor_operand_before=before, visitor_text=text)
    return texts


class Tree:
    """The structure tree with the text under each element."""

    def __init__(self, path: Path):
        self.pdf = pikepdf.open(path)
        self.texts = _marked_text(path)
        self.pages = {p.objgen: i for i, p in enumerate(self.pdf.pages)}
        self.root = self.pdf.Root.StructTreeRoot

    @staticmethod
    def kids(node) -> list:
        k = node.get("/K") if isinstance(node, pikepdf.Dictionary) else None
        if k is None:
            return []
        return list(k) if isinstance(k, pikepdf.Array) else [k]

    def elements(self, node=None) -> list:
        """Every structure element, in the tree's (reading) order."""
        node = self.root if node is None else node
        out = []
        for kid in self.kids(node):
            if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                out.append(kid)
                out += self.elements(kid)
        return out

    def text(self, node, page: int | None = None) -> str:
        if isinstance(node, int):
            return self.texts.get((page, node), "") if page is not None else ""
        if not isinstance(node, pikepdf.Dictionary):
            return ""
        if "/Pg" in node:
            page = self.pages.get(node.Pg.objgen, page)
        if node.get("/Type") == "/MCR":
            return self.texts.get((page, int(node.MCID)), "")
        return "".join(self.text(kid, page) for kid in self.kids(node))

    def plain(self, node) -> str:
        return " ".join(self.text(node).replace("•", " ").split())


def test_language_title_and_tagging(seed_pdf: Path) -> None:
    with pikepdf.open(seed_pdf) as pdf:
        root = pdf.Root
        assert str(root.Lang) == "en"
        assert bool(root.MarkInfo.Marked)
        assert bool(root.ViewerPreferences.DisplayDocTitle), "viewers show the title"
        assert str(pdf.docinfo["/Title"]) == "Email Servers"
        with pdf.open_metadata() as xmp:
            assert xmp.get("dc:title") == "Email Servers"
            assert str(xmp.get("pdfuaid:part")) == "1"


def test_headings_lists_tables_links_in_the_structure_tree(seed_pdf: Path) -> None:
    tree = Tree(seed_pdf)
    elements = tree.elements()
    kinds = [str(e.S) for e in elements]
    headings = [
        (k, tree.plain(e))
        for k, e in zip(kinds, elements, strict=True)
        if k[:2] == "/H" and k[2:].isdigit()
    ]
    assert headings[0] == ("/H1", "Email Servers")
    assert ("/H2", "The terms") in headings
    assert ("/H3", "POP Port Numbers") in headings
    assert ("/H2", "Port reference") in headings
    assert headings[-1] == ("/H2", "Terms in this issue")
    # Lists: each list item of the POP ports is an LI with a label and a body.
    lists = [e for e in elements if e.S == "/L"]
    items = [tree.plain(li) for li in tree.kids(lists[0]) if li.get("/S") == "/LI"]
    assert items == ["110 – Default non-encrypted port.", "995 – Used connect using POP securely."]
    assert {str(k.S) for k in tree.kids(tree.kids(lists[0])[0])} == {"/Lbl", "/LBody"}
    # The port table: header cells and data rows.
    (table,) = [e for e in elements if e.S == "/Table"]
    parts = [str(k.S) for k in tree.kids(table)]
    assert parts == ["/THead", "/TBody"]
    header = [tree.plain(th) for th in tree.elements(table) if th.S == "/TH"]
    assert header[:3] == ["Protocol", "Port", "Transport"]
    assert any(tree.plain(td) == "993" for td in tree.elements(table) if td.S == "/TD")
    # Links are tagged and tied to their annotations.
    links = [e for e in elements if e.S == "/Link"]
    assert [tree.plain(link) for link in links][:2] == ["contact me", "my website"]
    for link in links:
        assert any(
            isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/OBJR" for k in tree.kids(link)
        ), "a Link element refers to its annotation"


def test_every_figure_has_alt_text(seed_pdf: Path) -> None:
    tree = Tree(seed_pdf)
    figures = [e for e in tree.elements() if e.S == "/Figure"]
    assert figures, "the image is tagged as a figure"
    assert [str(f.get("/Alt", "")) for f in figures] == [ALT]


def test_terms_appendix_reads_term_then_definition(seed_pdf: Path) -> None:
    tree = Tree(seed_pdf)
    elements = tree.elements()
    (section,) = [
        e
        for e in elements
        if e.S == "/Sect" and any(tree.plain(h) == "Terms in this issue" for h in tree.kids(e))
    ]
    kinds = [str(k.S) for k in tree.kids(section)]
    assert kinds == ["/H2", "/L"], "the heading, then one list"
    items = [tree.plain(li) for li in tree.kids(tree.kids(section)[1])]
    # One item per term, A–Z, each term with its expansion followed by its definition.
    assert items[0].startswith("IMAP (Internet Message Access Protocol) This protocol is")
    starts = [item[:40] for item in items]
    assert starts == sorted(starts, key=str.lower)
    pop = next(item for item in items if item.startswith("POP"))
    assert pop.startswith("POP (Post Office Protocol) This protocol delivers your mail")
    smtp = next(item for item in items if item.startswith("SMTP"))
    assert smtp.startswith("SMTP (Simple Mail Transfer Protocol) A standard protocol")
    # The appendix comes last in reading order, after the issue's own text.
    assert elements.index(section) > max(
        i for i, e in enumerate(elements) if tree.plain(e).startswith("I have worked")
    )
