"""The built book in a real browser: every page of _build/html opened in headless Chromium.

`make book` renders _build/html; these tests then check it the way a reader sees it, offline:

- every page loads with no console error, no uncaught exception and no failed request;
- no request leaves the machine (anything but file:, data:, blob: or localhost fails the page);
- every image has loaded (naturalWidth > 0);
- no raw TeX is left: every formula is typeset by MathJax (an `mjx-container` in each `.math`
  element, no MathJax error) and no text outside code still holds `\\(`, `\\[`, `$$`, `\\frac`, ...;
- every link, in the sidebars and in the text, points at a file of the book and, with a
  `#fragment`, at an element of that page that has that id;
- a full-page screenshot of every page is saved to _build/screenshots/<page>.png.

Pages are opened through file:// from a copy of _build/html in a temporary folder: that is how a
teacher opens the zipped folder, and it is the stricter case (no web server to paper over a
fetch() of a local file, an absolute path back into the repository or a missing file).

Needs Chromium from Debian's packages (`apt-get install chromium chromium-driver`; Playwright
drives /usr/bin/chromium, it never downloads a browser) and a built book (`make book`). Where
either is missing the tests are skipped, except in CI (CI=true), where that is an error.
`pytest -m browser` runs only these; NUMVARS_BOOK_HTML points them at another built book.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("NUMVARS_BOOK_HTML", ROOT / "_build" / "html")).resolve()
SCREENSHOTS = HTML.parent / "screenshots"
CHROMIUM = Path(os.environ.get("NUMVARS_CHROMIUM", "/usr/bin/chromium"))

# Flags for a closed network and a throwaway profile: without them Chromium phones home at
# start-up (component updates, sync, QUIC probes) and can hang here.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    # Belt and braces: no host name but localhost resolves, whatever asks for it.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
]
VIEWPORT = {"width": 1280, "height": 900}
LOCAL_SCHEMES = {"file", "data", "blob", "about"}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
TIMEOUT_MS = 60_000  # generous: the machine may be shared

pytestmark = pytest.mark.browser


def _missing(what: str) -> None:
    """Skip — or, in CI, fail: there the browser and the book are always installed and built."""
    if os.environ.get("CI") == "true":
        pytest.fail(what)
    pytest.skip(what)


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or (parts.hostname or "") in LOCAL_HOSTS


# --- what one page shows -------------------------------------------------------------------------

# Waits for every image (lazy ones loaded eagerly) and for MathJax's first typeset, then reports.
PAGE_REPORT_JS = r"""
async () => {
  const images = Array.from(document.images);
  for (const img of images) { if (img.loading === 'lazy') img.loading = 'eager'; }
  await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done, {once: true});
    img.addEventListener('error', done, {once: true});
    setTimeout(done, 20000);
  })));
  const mj = window.MathJax;
  let mathjax = 'absent';
  if (mj && mj.startup && mj.startup.promise) {
    try { await mj.startup.promise; mathjax = 'typeset'; }
    catch (e) { mathjax = 'failed: ' + e; }
  } else if (mj) {
    mathjax = 'configured, not loaded';
  }
  // Text still holding TeX, outside code and outside MathJax's own output.
  const skip = 'pre, code, kbd, samp, script, style, textarea, mjx-container, .highlight';
  const tex = ['\\(', '\\)', '\\[', '\\]', '$$', '$\\', '\\frac', '\\begin{', '\\end{'];
  const rawTex = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.nodeValue;
    if (!tex.some(t => text.includes(t))) continue;
    if (n.parentElement && n.parentElement.closest(skip)) continue;
    rawTex.push(text.trim().replace(/\s+/g, ' ').slice(0, 100));
  }
  const math = Array.from(document.querySelectorAll('.math'));
  const sidebar = '.bd-sidebar-primary, .bd-sidebar-secondary, .bd-header, .bd-header-article, nav';
  return {
    url: location.href,
    title: document.title,
    mathjax: mathjax,
    math: math.length,
    mathUntypeset: math.filter(m => !m.querySelector('mjx-container'))
                       .map(m => m.textContent.trim().slice(0, 100)),
    mjx: document.querySelectorAll('mjx-container').length,
    mathErrors: Array.from(document.querySelectorAll('mjx-merror, [data-mjx-error]'),
                           e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 100)),
    rawTex: rawTex,
    brokenImages: images.filter(img => !(img.complete && img.naturalWidth > 0))
                        .map(img => img.currentSrc || img.src || img.outerHTML.slice(0, 100)),
    images: images.length,
    links: Array.from(document.querySelectorAll('a[href]'), a => ({
      raw: a.getAttribute('href'),
      url: a.href,
      where: a.closest(sidebar) ? 'sidebar' : 'page',
    })),
    ids: Array.from(document.querySelectorAll('[id], a[name]'), e => e.id || e.getAttribute('name')),
  };
}
"""

META_REFRESH = re.compile(r"""<meta\s+http-equiv=["']refresh["']\s+content=["']\s*\d+\s*;\s*url=([^"']+)["']""", re.I)


@dataclass
class PageResult:
    page: str  # path relative to the site root, e.g. "book/03_das.html"
    problems: list[str] = field(default_factory=list)
    report: dict = field(default_factory=dict)
    seconds: float = 0.0


def check_page(browser, root: Path, page: Path, screenshot: Path | None = None) -> PageResult:
    """Open one page of the site at `root` (file://) in a fresh context; return what is wrong."""
    from playwright.sync_api import Error as PlaywrightError

    rel = page.relative_to(root).as_posix()
    result = PageResult(rel)
    problems = result.problems
    start = time.perf_counter()
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    try:
        offsite: list[str] = []

        def route(r):
            if _is_local(r.request.url):
                r.continue_()
            else:
                offsite.append(r.request.url)
                r.abort("blockedbyclient")

        context.route("**/*", route)
        pg = context.new_page()
        pg.set_default_timeout(TIMEOUT_MS)
        requests: list[str] = []
        pg.on("request", lambda r: requests.append(r.url))
        pg.on("websocket", lambda ws: requests.append(ws.url))
        pg.on(
            "console",
            lambda m: m.type == "error" and problems.append(f"console error: {m.text} ({m.location.get('url', '')})"),
        )
        pg.on("pageerror", lambda e: problems.append(f"uncaught exception: {e}"))
        pg.on("requestfailed", lambda r: problems.append(f"failed request: {r.url} ({r.failure})"))
        pg.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))

        refresh = META_REFRESH.search(page.read_text(encoding="utf-8", errors="replace"))
        try:
            if refresh:  # a redirect page (index.html): check the page it lands on
                target = (page.parent / unquote(refresh.group(1).split("#")[0])).resolve()
                if not target.is_file():
                    problems.append(f"redirects to a missing file: {refresh.group(1)}")
                    return result
                pg.goto(page.as_uri(), wait_until="commit")
                pg.wait_for_url(target.as_uri())
                pg.wait_for_load_state("load")
            else:
                pg.goto(page.as_uri(), wait_until="load")
            report = pg.evaluate(PAGE_REPORT_JS)
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                pg.screenshot(path=str(screenshot), full_page=True)
        except PlaywrightError as e:  # a timeout, a crash: report it, go on with the next page
            problems.append(f"could not be checked: {e}")
            return result
        result.report = report

        problems.extend(
            f"request leaves the machine: {u}"
            for u in dict.fromkeys(offsite + [u for u in requests if not _is_local(u)])
        )
        problems.extend(f"image not loaded: {src}" for src in report["brokenImages"])
        problems.extend(f"raw TeX in the text: {t!r}" for t in report["rawTex"])
        problems.extend(f"formula not typeset ({report['mathjax']}): {t!r}" for t in report["mathUntypeset"])
        problems.extend(f"MathJax error: {t!r}" for t in dict.fromkeys(report["mathErrors"]))
        if report["math"] and not report["mjx"]:
            problems.append(f"{report['math']} formulas but no MathJax output (mathjax: {report['mathjax']})")
    finally:
        context.close()
        result.seconds = time.perf_counter() - start
    return result


def check_links(root: Path, results: list[PageResult]) -> list[str]:
    """Every link of every page points at a file of the site, and a fragment at an id in it."""
    ids = {}
    for r in results:
        if r.report:
            final = urlsplit(r.report["url"])
            ids[Path(unquote(final.path)).resolve()] = set(r.report["ids"])
    problems = []
    for r in results:
        for link in r.report.get("links", []):
            url = urlsplit(link["url"])
            if url.scheme != "file":
                continue  # a hyperlink to the web (the paper, a package): followed only by a click
            where = f"{r.page}: {link['where']} link {link['raw']!r}"
            target = Path(unquote(url.path)).resolve()
            if not target.is_relative_to(root):
                problems.append(f"{where} points outside the book folder")
                continue
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{where} points at a missing file")
                continue
            fragment = unquote(url.fragment)
            if not fragment or target.suffix != ".html":
                continue
            if target not in ids:  # an HTML file that is not a page of the book (not opened)
                text = target.read_text(encoding="utf-8", errors="replace")
                ids[target] = set(re.findall(r"""\b(?:id|name)=["']([^"']+)["']""", text))
            if fragment not in ids[target]:
                problems.append(f"{where}: no id {fragment!r} in {target.relative_to(root)}")
    return problems


def site_pages(root: Path) -> list[Path]:
    """The pages of a built book: every .html but Sphinx's own folders (_static, _sources...)."""
    return sorted(
        p for p in root.rglob("*.html") if not any(part.startswith("_") for part in p.relative_to(root).parts[:-1])
    )


def check_site(browser, root: Path, screenshots: Path | None = None):
    results = [
        check_page(
            browser, root, page, screenshots / page.relative_to(root).with_suffix(".png") if screenshots else None
        )
        for page in site_pages(root)
    ]
    problems = [f"{r.page}: {p}" for r in results for p in r.problems]
    return results, problems + check_links(root, results)


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _missing(
            f"headless Chromium not found at {CHROMIUM}: install Debian's "
            f"(`apt-get install chromium chromium-driver`) to run the browser tests"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: `make venv` installs it")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Path:
    """A copy of _build/html in a folder of its own, as a teacher would unzip it anywhere."""
    if not (HTML / "index.html").is_file():
        _missing(f"no built book at {HTML}: run `make book` first")
    copy = tmp_path_factory.mktemp("unzipped") / "html"
    shutil.copytree(HTML, copy)
    return copy


# --- the tests ---------------------------------------------------------------------------------


def test_every_page_in_chromium(browser, built_book):
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # only this build's pages
    start = time.perf_counter()
    results, problems = check_site(browser, built_book, SCREENSHOTS)
    elapsed = time.perf_counter() - start
    assert results, f"no pages found in {built_book}"
    print(f"\n{len(results)} pages in {elapsed:.1f} s; screenshots in {SCREENSHOTS}")
    for r in results:
        rep = r.report
        print(
            f"  {r.page:45s} {r.seconds:5.1f} s  {rep.get('images', 0):3d} images  "
            f"{rep.get('mjx', 0):3d} formulas  {len(rep.get('links', [])):4d} links"
        )
    assert not problems, "\n".join(problems)
    # The book has formulas, and MathJax drew them (not a book silently without math).
    assert any(r.report.get("mjx") for r in results), "no page has any typeset formula"


def test_search_works_offline(browser, built_book):
    """The search page finds pages from file:// too, without errors (no snippets fetched)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        pg = context.new_page()
        errors = []
        pg.on("console", lambda m: m.type == "error" and errors.append(m.text))
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto((built_book / "search.html").as_uri() + "?q=interchange", timeout=TIMEOUT_MS)
        pg.wait_for_selector("#search-results li a", timeout=TIMEOUT_MS)
        pg.wait_for_function("() => document.querySelector('#search-results p')", timeout=TIMEOUT_MS)
        hits = pg.evaluate(
            "() => Array.from(document.querySelectorAll('#search-results li a'), a => a.getAttribute('href'))"
        )
    finally:
        context.close()
    assert any("03_das" in h for h in hits), hits
    assert not errors, "\n".join(errors)


def test_no_remote_resources_in_html():
    """Static companion (no browser needed): no page loads a script, style, font or image from
    the web, and none links to the placeholder repository of the Jupyter Book template."""
    bs4 = pytest.importorskip("bs4")
    if not (HTML / "index.html").is_file():
        _missing(f"no built book at {HTML}: run `make book` first")
    remote = re.compile(r"^\s*(https?:)?//", re.I)
    problems = []
    for page in sorted(HTML.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        soup = bs4.BeautifulSoup(text, "html.parser")
        where = page.relative_to(HTML)
        for tag in soup.find_all(["script", "img", "iframe", "source", "video", "audio", "embed", "object", "link"]):
            for attr in ("src", "data", "poster") + (("href",) if tag.name == "link" else ()):
                value = tag.get(attr)
                if value and remote.match(value):
                    problems.append(f"{where}: <{tag.name} {attr}={value!r}>")
        for m in re.finditer(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", text):
            problems.append(f"{where}: CSS url({m.group(1)})")
        for m in re.finditer(r"github\.com/(numvars|executablebooks/jupyter-book)\b", text):
            problems.append(f"{where}: link to a repository that is not this book's: {m.group(0)}")
    assert not problems, "\n".join(problems)


# --- the checks catch what they claim to catch ----------------------------------------------------

SELF_TEST_PAGES = {
    # A clean page: a local image, a link to another page and to an anchor on it. Must pass.
    "good.html": """<!doctype html><html><head><title>good</title></head><body>
        <h1 id="top">Good</h1><img src="dot.png" alt="dot">
        <p><a href="other.html#here">there</a> <a href="#top">top</a>
        <a href="https://arxiv.org/">the paper (a web link, never loaded)</a></p>
        <pre>\\(x\\) in code is fine</pre></body></html>""",
    "other.html": """<!doctype html><html><head><title>other</title></head><body>
        <h1 id="here">Here</h1><a href="good.html">back</a></body></html>""",
    # The failures, one kind per page.
    "raw_tex.html": """<!doctype html><html><head><title>raw</title></head><body>
        <p>Formula: \\(x^2\\) and <span class="math">\\(\\frac{1}{2}\\)</span></p></body></html>""",
    "remote.html": """<!doctype html><html><head><title>remote</title>
        <script src="https://cdn.example.org/mathjax/tex-chtml.js"></script>
        </head><body><p>no math</p></body></html>""",
    "broken_image.html": """<!doctype html><html><head><title>img</title></head><body>
        <img src="missing.png" alt="gone"></body></html>""",
    "broken_links.html": """<!doctype html><html><head><title>links</title></head><body>
        <nav class="bd-sidebar-primary"><a href="nowhere.html">nowhere</a></nav>
        <a href="other.html#not-there">bad anchor</a></body></html>""",
    "console_error.html": """<!doctype html><html><head><title>js</title></head><body>
        <script>console.error("boom"); null.x;</script></body></html>""",
}

# A 1x1 PNG.
DOT_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a3c8d6"
    "a40000000049454e44ae426082"
)


# MathJax as the book loads it: sphinx-mathjax-offline's copy, drawing SVG (see _config.yml).
MATHJAX_HEAD = """<script>window.MathJax = {"loader": {"load": ["output/svg"]},
    "startup": {"output": "svg"}, "options": {"processHtmlClass": "math"}}</script>
    <script defer src="mathjax/tex-chtml.js"></script>"""
SELF_TEST_MATH_PAGES = {
    "math_good.html": f"""<!doctype html><html><head><title>math</title>{MATHJAX_HEAD}</head>
        <body class="tex2jax_ignore"><p>Inline <span class="math notranslate">\\(x^2\\)</span>,
        display:</p><div class="math notranslate">\\[\\frac{{a}}{{b}}\\]</div></body></html>""",
    "math_error.html": f"""<!doctype html><html><head><title>bad</title>{MATHJAX_HEAD}</head>
        <body class="tex2jax_ignore"><p><span class="math">\\(\\frac{{1}}\\)</span></p>
        </body></html>""",
}


def test_checks_catch_bad_pages(browser, tmp_path):
    import importlib.util

    site = tmp_path / "site"
    site.mkdir()
    pages = dict(SELF_TEST_PAGES)
    offline = importlib.util.find_spec("sphinx-mathjax-offline")
    if offline is not None:  # pinned in requirements.txt; without it, the MathJax cases are left out
        shutil.copytree(Path(offline.submodule_search_locations[0]) / "static" / "mathjax", site / "mathjax")
        pages.update(SELF_TEST_MATH_PAGES)
    for name, html in pages.items():
        (site / name).write_text(html, encoding="utf-8")
    (site / "dot.png").write_bytes(DOT_PNG)
    results, problems = check_site(browser, site, tmp_path / "shots")
    by_page = {r.page: "\n".join(r.problems) for r in results}
    link_problems = "\n".join(p for p in problems if ": " in p and "link" in p)

    assert by_page["good.html"] == "" and by_page["other.html"] == ""
    assert not any(p.startswith(("good.html", "other.html")) for p in problems), problems
    assert "raw TeX in the text: 'Formula: \\\\(x^2\\\\) and'" in by_page["raw_tex.html"]
    assert "formula not typeset" in by_page["raw_tex.html"]
    assert "request leaves the machine: https://cdn.example.org/" in by_page["remote.html"]
    assert "image not loaded" in by_page["broken_image.html"]
    assert "failed request" in by_page["broken_image.html"]
    assert "console error: boom" in by_page["console_error.html"]
    assert "uncaught exception" in by_page["console_error.html"]
    assert "sidebar link 'nowhere.html' points at a missing file" in link_problems
    assert "page link 'other.html#not-there': no id 'not-there' in other.html" in link_problems
    assert (tmp_path / "shots" / "good.png").stat().st_size > 0
    if offline is not None:
        good = next(r for r in results if r.page == "math_good.html")
        assert by_page["math_good.html"] == "" and good.report["mjx"] == 2, good.report
        assert "MathJax error: 'Missing argument for \\\\frac'" in by_page["math_error.html"]
