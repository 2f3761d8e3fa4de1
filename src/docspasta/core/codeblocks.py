"""Code blocks before conversion: one plain ``<pre><code class="language-X">`` per block.

Docs generators wrap code in many ways; this module rewrites each block, in place, to the one form
html-to-markdown turns into a fenced block (with a fence longer than any backtick run inside):

- line-number gutters go: Pygments ``linenos`` tables (``table.highlighttable``) and inline
  ``span.linenos``, Prism's ``.line-numbers-rows``, highlight.js's ``table.hljs-ln``, Shiki's and
  VitePress's ``.line-numbers-wrapper``, Docusaurus's line-number spans;
- line-per-element markup becomes lines: Doxygen's ``div.fragment > div.line``, Expressive Code's
  (Starlight) ``div.ec-line``; ``<br>`` inside code becomes a newline; a ``<pre>`` directly
  inside another ``<pre>`` (mdBook's playgrounds) is unwrapped;
- the language is read from the classes docs generators put on the ``<pre>``, its ``<code>`` or a
  wrapper up to three levels up (``language-X``, ``lang-X``, ``highlight-X`` as Sphinx's
  ``<div class="highlight-python3">``, ``sourceCode X``, ``hljs X``, rustdoc's ``pre.rust``),
  or a ``data-lang``/``data-language`` attribute, and normalised (:func:`normalize_language`).
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

_LANGUAGE_CLASS = re.compile(r"^(?:language|lang|highlight|brush)-([\w+#.-]+)$", re.IGNORECASE)
#: Class names that say "no language" (Sphinx's ``highlight-default``: see ``_sphinx_default``).
_NOT_A_LANGUAGE = frozenset(
    {"default", "none", "plain", "plaintext", "nohighlight", "text", "txt", "output", "raw"}
)
#: Spellings of one language, to the name markdown renderers know best.
LANGUAGE_ALIASES: dict[str, str] = {
    "python3": "python",
    "python2": "python",
    "py": "python",
    "py3": "python",
    "ipython": "python",
    "ipython3": "python",
    "pycon3": "pycon",
    "python-console": "pycon",
    "pytb": "pytb",
    "shell-session": "console",
    "sh-session": "console",
    "shellsession": "console",
    "doscon": "doscon",
    "js": "javascript",
    "jsx": "jsx",
    "ts": "typescript",
    "yml": "yaml",
    "c++": "cpp",
    "rs": "rust",
    "golang": "go",
    "kt": "kotlin",
    "rb": "ruby",
    "ps1": "powershell",
    "md": "markdown",
    "htm": "html",
    "xhtml": "html",
}
#: Classes that name a language without a prefix (rustdoc's ``pre.rust``, highlight.js's
#: ``hljs python``): only these words count.
_BARE_LANGUAGES = frozenset(
    {
        "rust", "python", "javascript", "typescript", "java", "c", "cpp", "go", "ruby", "bash",
        "sh", "shell", "console", "json", "yaml", "toml", "xml", "html", "css", "sql", "kotlin",
        "swift", "csharp", "php", "perl", "haskell", "scala", "lua", "r", "diff", "ini",
    }
)  # fmt: skip
_LANGUAGE_ANCESTORS = 3
_SPECIAL = (
    "span.linenos, .line-numbers-rows, .line-numbers-wrapper, td.linenos, [class*=codeLineNumber], "
    "table.highlighttable, table.hljs-ln, div.fragment, div.ec-line, pre > pre"
)
_GUTTERS = (
    "span.linenos, .line-numbers-rows, .line-numbers-wrapper, td.linenos, "
    "[class*=codeLineNumber], .hljs-ln-numbers, .ec-line .gutter"
)


def normalize_language(name: str) -> str | None:
    """A declared language in the spelling fences use; ``None`` for "no language"."""
    lowered = name.strip().lower()
    if not lowered or lowered in _NOT_A_LANGUAGE:
        return None
    return LANGUAGE_ALIASES.get(lowered, lowered)


def _language_from(node: LexborNode, bare: bool) -> str | None:
    for attr in ("data-lang", "data-language"):
        value = (node.attributes.get(attr) or "").strip()
        if value:
            return normalize_language(value)
    classes = (node.attributes.get("class") or "").split()
    for token in classes:
        match = _LANGUAGE_CLASS.match(token)
        if match:
            language = normalize_language(match.group(1))
            if language is not None or match.group(1).lower() in _NOT_A_LANGUAGE:
                return language
    if bare:
        for token in classes:
            if token.lower() in _BARE_LANGUAGES:
                return normalize_language(token)
    return None


def code_language(pre: LexborNode, container: LexborNode) -> str | None:
    """The language a ``<pre>`` declares (see the module docstring for where it is read)."""
    code = pre.css_first("code")
    candidates: list[LexborNode] = [pre] if code is None else [code, pre]
    ancestor = pre.parent
    for _ in range(_LANGUAGE_ANCESTORS):
        if ancestor is None or ancestor.mem_id == container.mem_id:
            break
        candidates.append(ancestor)
        ancestor = ancestor.parent
    for index, node in enumerate(candidates):
        has_declaration = "data-lang" in node.attrs or "data-language" in node.attrs
        language = _language_from(node, bare=index < 2)
        if language is not None or has_declaration:
            return language
        if "highlight-default" in _classes(node):
            return _sphinx_default(pre)
        if any(_LANGUAGE_CLASS.match(token) for token in _classes(node)):
            return None  # highlight-none, language-text...: declared as "no language"
    return None


def _sphinx_default(pre: LexborNode) -> str | None:
    """Sphinx's ``highlight-default``: Python 3, or a console session when it starts with a
    prompt, as Pygments lexed it (token spans); none when Sphinx fell back to plain text."""
    if pre.css_first("span.gp") is not None:
        return "pycon"
    if pre.css_first("span.k, span.kn, span.n, span.nb, span.nf, span.nc, span.s2, span.mi"):
        return "python"
    return None


def _classes(node: LexborNode) -> list[str]:
    return (node.attributes.get("class") or "").split()


def _lines_to_pre(container: LexborNode, block: LexborNode, line_selector: str) -> None:
    """Replace a block made of one element per line with a ``<pre>`` of those lines."""
    lines = []
    for line in block.css(line_selector):
        code = line.css_first(".code")  # Expressive Code: the line's code beside its gutter
        # an empty Expressive Code line holds "\n": the join below already ends each line
        lines.append((code or line).text().removesuffix("\n"))
    parser = container.parser
    pre = parser.create_node("pre")
    code = parser.create_node("code")
    code.insert_child("\n".join(lines))
    pre.insert_child(code, move=True)
    language = block.attributes.get("data-language") or block.attributes.get("data-lang")
    if language:
        pre.attrs["data-lang"] = language
    block.replace_with(pre, move=True)


def _unwrap_highlight_tables(container: LexborNode) -> None:
    for table in container.css("table.highlighttable, table.hljs-ln"):
        code_cell = table.css_first("td.code, td.hljs-ln-code")
        if table.css_first("td.hljs-ln-code") is not None:
            lines = [cell.text() for cell in table.css("td.hljs-ln-code")]
            table.replace_with("\n".join(lines))  # the table sits inside the <pre>
            continue
        if code_cell is None:
            continue
        filename = table.css_first(".filename")
        if filename is not None and filename.text(strip=True):
            label = container.parser.create_node("p")
            label.insert_child(filename.text(strip=True))
            table.insert_before(label)
        inner = code_cell.css_first("div.highlight") or code_cell.css_first("pre")
        if inner is not None:
            table.replace_with(inner, move=True)


def normalize_code_blocks(container: LexborNode) -> None:
    """Rewrite every code block under ``container`` in place (see the module docstring)."""
    if container.css_first(_SPECIAL) is not None:
        _special_blocks(container)
    for link in container.css("pre a"):
        link.unwrap()  # a link inside code would become markdown link syntax in the fence
    for pre in container.css("pre"):
        for br in pre.css("br"):
            br.replace_with("\n")
        language = code_language(pre, container)
        code = pre.css_first("code")
        if code is not None and code.parent is not None and code.parent.mem_id != pre.mem_id:
            code = None
        for node in (pre, code):
            if node is not None and "class" in node.attrs:
                del node.attrs["class"]
        if language is None:
            continue
        pre.attrs["class"] = f"language-{language}"
        if code is not None:
            code.attrs["class"] = f"language-{language}"


def _special_blocks(container: LexborNode) -> None:
    """Gutters, highlight tables, line-per-element blocks, nested ``<pre>``."""
    for gutter in container.css(_GUTTERS):
        gutter.decompose()
    _unwrap_highlight_tables(container)
    for fragment in container.css("div.fragment"):
        _lines_to_pre(container, fragment, "div.line")
    for frame in container.css("pre:has(div.ec-line)"):
        _lines_to_pre(container, frame, "div.ec-line")
    for outer in container.css("pre:has(> pre)"):
        outer.unwrap()
