"""markdown.js in the browser, table-driven: what each piece of markdown becomes (as the DOM it builds,
read back as HTML), that hostile text stays text, and that the panels' scripts never parse HTML."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import pytest

from tests.tools.panels.browser import STATIC, chromium, show

pytestmark = pytest.mark.anyio
# Where a script would turn text into HTML or code.
HTML_SINKS = "|".join(
    [r"\.innerHTML\s*=", r"\.outerHTML\s*=", "insertAdjacentHTML", r"document\.write", r"\beval\(", "new Function"]
)

CASES = {
    "plain": ("hello", "<p>hello</p>"),
    "two paragraphs": ("a\n\nb", "<p>a</p><p>b</p>"),
    "line break": ("a\nb", "<p>a<br>b</p>"),
    "headings, under the panel's own": ("# A\n## B #\n#### C", "<h4>A</h4><h5>B</h5><h6>C</h6>"),
    "emphasis": (
        "*a* **b** ***c*** ~~d~~",
        "<p><em>a</em> <strong>b</strong> <strong><em>c</em></strong> <del>d</del></p>",
    ),
    "underscores": ("_a_ snake_case_name", "<p><em>a</em> snake_case_name</p>"),
    "unclosed emphasis": ("2 * 3 and **half", "<p>2 * 3 and **half</p>"),
    "inline code": ("use `a < b` here", "<p>use <code>a &lt; b</code> here</p>"),
    "code keeps markup": ("`**x**`", "<p><code>**x**</code></p>"),
    "escape": (r"\*not em\*", "<p>*not em*</p>"),
    "fenced code": ("```py\nx = '<b>'\n```", "<pre><code data-lang=\"py\">x = '&lt;b&gt;'</code></pre>"),
    "unclosed fence": ("```\ncode", "<pre><code>code</code></pre>"),
    "list": ("- a\n- b", "<ul><li>a</li><li>b</li></ul>"),
    "ordered list": ("3. a\n4. b", '<ol start="3"><li>a</li><li>b</li></ol>'),
    "nested list": ("- a\n  - b\n- c", "<ul><li><p>a</p><ul><li>b</li></ul></li><li>c</li></ul>"),
    "quote": ("> a\n> b", "<blockquote><p>a<br>b</p></blockquote>"),
    "rule": ("a\n\n---\n\nb", "<p>a</p><hr><p>b</p>"),
    "link": (
        "[site](https://example.com/x)",
        '<p><span class="link"><a href="https://example.com/x" rel="noopener noreferrer nofollow" '
        'title="https://example.com/x">site</a><span class="url"> (https://example.com/x)</span></span></p>',
    ),
    "bare url label": (
        "[https://e.org](https://e.org)",
        '<p><span class="link"><a href="https://e.org" rel="noopener noreferrer nofollow" '
        'title="https://e.org">https://e.org</a></span></p>',
    ),
    "javascript link": (
        "[x](javascript:alert(1))",
        '<p><span class="link">[x](javascript:alert(1)</span>)</p>',
    ),
    "data link": ("[x](data:text/html,hi)", '<p><span class="link">[x](data:text/html,hi)</span></p>'),
    "html is text": ("<b>x</b><script>1</script>", "<p>&lt;b&gt;x&lt;/b&gt;&lt;script&gt;1&lt;/script&gt;</p>"),
    "img is text": ('<img src=x onerror="y">', '<p>&lt;img src=x onerror="y"&gt;</p>'),
    "lone surrogates": ("a\ud800b\udc00c", "<p>a\ufffdb\ufffdc</p>"),
    "surrogate pair kept": ("\U0001f600", "<p>\U0001f600</p>"),
    "deep quote": (">" * 20 + " x", None),
}


async def test_markdown_becomes_the_dom_each_case_says() -> None:
    async with chromium() as browser:
        shown = await show(browser, "answers", {"results": []})
        with anyio.fail_after(20):
            got = await shown.page.evaluate(
                """(cases) => Object.fromEntries(Object.entries(cases).map(([name, text]) => {
                    const box = document.createElement("div");
                    box.appendChild(renderMarkdown(text));
                    return [name, box.innerHTML];
                }))""",
                {name: text for name, (text, _) in CASES.items()},
            )
    expected = {name: html for name, (_, html) in CASES.items() if html is not None}
    assert {name: got[name] for name in expected} == expected
    assert got["deep quote"].count("<blockquote>") == 8, "quotes nest 8 deep at most; deeper is text"


async def test_markdown_work_is_bounded_on_pathological_text() -> None:
    texts = ["*a" * 200_000, "[" * 200_000, "`" * 50_000 + "x", "- " * 100_000, "_a " * 100_000, ">" * 100_000]
    async with chromium() as browser:
        shown = await show(browser, "answers", {"results": []})
        with anyio.fail_after(30):
            took = await shown.page.evaluate(
                """(texts) => texts.map((text) => {
                    const started = performance.now();
                    renderMarkdown(text);
                    return performance.now() - started;
                })""",
                texts,
            )
    assert max(took) < 2_000, took


SCRIPTS = ("markdown.js", "answers.js", "council.js", "spend.js")


@pytest.mark.parametrize("path", sorted({*(STATIC / name for name in SCRIPTS), *STATIC.glob("*.js")}), ids=str)
def test_no_panel_script_parses_html_or_evaluates_code(path: Path) -> None:
    assert path.exists(), path
    found = re.findall(HTML_SINKS, path.read_text())
    assert not found, f"{path}: {found}"
