// A small, safe markdown renderer for the preview.
//
// It builds DOM nodes with createElement and textContent only: crawled content is never parsed
// as HTML, so a page holding <script> or <img onerror=…> shows those characters as text. Links
// keep http(s), mailto and in-document fragments; anything else (javascript:, data:) stays text.
// Images are shown as links: the preview makes no request to any other host.
//
// Covered: ATX headings (with GitHub-style anchors, prefixed so they cannot clash with the page's
// own ids), fenced code blocks, paragraphs, block quotes, nested lists, GFM tables, rules,
// and inline code, emphasis, strong, strike-through, links, autolinks and hard line breaks.

const ANCHOR_PREFIX = "md-";

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?/;
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])(?:[ \t]+|$)/;
const TABLE_DIVIDER = /^ {0,3}\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$/;
const BLANK = /^\s*$/;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function slugify(text) {
  return text
    .replace(/\s+/g, " ")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}_\- ]/gu, "")
    .replaceAll(" ", "-");
}

/** The href a link may carry, or null when it must stay text. */
export function safeHref(raw) {
  const href = raw.trim();
  if (href.startsWith("#")) return "#" + ANCHOR_PREFIX + href.slice(1);
  let url;
  try {
    url = new URL(href, "https://invalid.example/");
  } catch {
    return null;
  }
  if (!["http:", "https:", "mailto:"].includes(url.protocol)) return null;
  if (url.host === "invalid.example") return null; // relative: nothing to point at
  return url.href;
}

function link(href, children) {
  const safe = safeHref(href);
  if (safe === null) {
    const span = el("span");
    span.append(...children);
    return span;
  }
  const a = el("a");
  a.href = safe;
  if (!safe.startsWith("#")) {
    a.rel = "noopener noreferrer nofollow";
    a.target = "_blank";
  }
  a.append(...children);
  return a;
}

// -- inline ---------------------------------------------------------------------------------

/** The index of the ``]`` closing the ``[`` at ``open`` (brackets nest), or -1. */
function closingBracket(text, open) {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") i++;
    else if (c === "`") {
      const end = text.indexOf("`", i + 1);
      if (end < 0) return -1;
      i = end;
    } else if (c === "[") depth++;
    else if (c === "]" && --depth === 0) return i;
  }
  return -1;
}

/** The destination of ``(url "title")`` starting at ``open``: [url, end index] or null. */
function destination(text, open) {
  if (text[open] !== "(") return null;
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") i++;
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) {
      let inner = text.slice(open + 1, i).trim();
      if (inner.startsWith("<")) inner = inner.slice(1, inner.indexOf(">") >= 0 ? inner.indexOf(">") : undefined);
      const url = inner.split(/\s+/)[0] || "";
      return [url, i + 1];
    }
  }
  return null;
}

const DELIMITERS = [
  ["**", "strong"],
  ["__", "strong"],
  ["~~", "del"],
  ["*", "em"],
  ["_", "em"],
];

/** Inline markdown to DOM nodes. */
export function inline(text) {
  const out = [];
  let buffer = "";
  const flush = () => {
    if (buffer) out.push(document.createTextNode(buffer));
    buffer = "";
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\" && text[i + 1] === "\n") {
      flush();
      out.push(el("br"));
      i += 2;
      continue;
    }
    if (c === "\\" && i + 1 < text.length && /[!-/:-@[-`{-~]/.test(text[i + 1])) {
      buffer += text[i + 1];
      i += 2;
      continue;
    }
    if (c === "\n") {
      // Two trailing spaces or a backslash make a hard break; otherwise a space.
      if (buffer.endsWith("  ")) {
        buffer = buffer.trimEnd();
        flush();
        out.push(el("br"));
      } else buffer += "\n";
      i++;
      continue;
    }
    if (c === "`") {
      let ticks = 1;
      while (text[i + ticks] === "`") ticks++;
      const fence = "`".repeat(ticks);
      const end = text.indexOf(fence, i + ticks);
      if (end > 0) {
        flush();
        let code = text.slice(i + ticks, end).replace(/\n/g, " ");
        if (code.length > 2 && code.startsWith(" ") && code.endsWith(" ")) code = code.slice(1, -1);
        out.push(el("code", null, code));
        i = end + ticks;
        continue;
      }
      buffer += fence;
      i += ticks;
      continue;
    }
    if (c === "<") {
      const auto = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/.exec(text.slice(i));
      if (auto) {
        flush();
        out.push(link(auto[1], [document.createTextNode(auto[1])]));
        i += auto[0].length;
        continue;
      }
    }
    const image = c === "!" && text[i + 1] === "[";
    if (c === "[" || image) {
      const open = image ? i + 1 : i;
      const close = closingBracket(text, open);
      const dest = close > 0 ? destination(text, close + 1) : null;
      if (dest) {
        flush();
        const label = text.slice(open + 1, close);
        if (image) {
          const alt = label.trim() || "image";
          out.push(link(dest[0], [document.createTextNode(`[image: ${alt}]`)]));
        } else {
          out.push(link(dest[0], inline(label)));
        }
        i = dest[1];
        continue;
      }
    }
    const delimiter = DELIMITERS.find(([mark]) => text.startsWith(mark, i));
    if (delimiter) {
      const [mark, tag] = delimiter;
      const after = text[i + mark.length];
      const before = i > 0 ? text[i - 1] : " ";
      // An opener is followed by non-space; "_" inside a word (snake_case) is not emphasis.
      const canOpen = after !== undefined && !/\s/.test(after) && !(mark[0] === "_" && /\w/.test(before));
      if (canOpen) {
        let end = text.indexOf(mark, i + mark.length + 1);
        while (end > 0 && (/\s/.test(text[end - 1]) || (mark[0] === "_" && /\w/.test(text[end + mark.length] || "")))) {
          end = text.indexOf(mark, end + 1);
        }
        if (end > 0) {
          flush();
          const node = el(tag);
          node.append(...inline(text.slice(i + mark.length, end)));
          out.push(node);
          i = end + mark.length;
          continue;
        }
      }
      buffer += mark;
      i += mark.length;
      continue;
    }
    buffer += c;
    i++;
  }
  flush();
  return out;
}

// -- blocks ---------------------------------------------------------------------------------

function startsBlock(line, next) {
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    RULE.test(line) ||
    QUOTE.test(line) ||
    ITEM.test(line) ||
    (line.includes("|") && next !== undefined && TABLE_DIVIDER.test(next) && next.includes("-"))
  );
}

function splitRow(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
  const cells = [];
  let cell = "";
  for (let i = 0; i < row.length; i++) {
    if (row[i] === "\\" && row[i + 1] === "|") {
      cell += "|";
      i++;
    } else if (row[i] === "|") {
      cells.push(cell.trim());
      cell = "";
    } else cell += row[i];
  }
  cells.push(cell.trim());
  return cells;
}

class Renderer {
  constructor() {
    this.used = new Set();
  }

  /** A unique GitHub-style anchor, as the document's table of contents links to it. */
  anchor(text) {
    const base = slugify(text) || "section";
    let id = base;
    for (let n = 1; this.used.has(id); n++) id = `${base}-${n}`;
    this.used.add(id);
    return ANCHOR_PREFIX + id;
  }

  blocks(lines, parent) {
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      if (BLANK.test(line)) {
        i++;
        continue;
      }
      let match;
      if ((match = FENCE.exec(line))) {
        i = this.fence(lines, i, match, parent);
      } else if ((match = HEADING.exec(line))) {
        const level = match[1].length;
        const heading = el(`h${level}`);
        heading.append(...inline(match[2] || ""));
        heading.id = this.anchor(heading.textContent);
        parent.append(heading);
        i++;
      } else if (RULE.test(line)) {
        parent.append(el("hr"));
        i++;
      } else if (QUOTE.test(line)) {
        const quoted = [];
        while (i < lines.length && QUOTE.test(lines[i])) quoted.push(lines[i++].replace(QUOTE, ""));
        const quote = el("blockquote");
        this.blocks(quoted, quote);
        parent.append(quote);
      } else if (ITEM.test(line)) {
        i = this.list(lines, i, parent);
      } else if (line.includes("|") && TABLE_DIVIDER.test(lines[i + 1] || "") && (lines[i + 1] || "").includes("-")) {
        i = this.table(lines, i, parent);
      } else {
        const text = [];
        while (i < lines.length && !BLANK.test(lines[i]) && (text.length === 0 || !startsBlock(lines[i], lines[i + 1]))) {
          text.push(lines[i++].replace(/^\s+/, ""));
        }
        const paragraph = el("p");
        paragraph.append(...inline(text.join("\n")));
        parent.append(paragraph);
      }
    }
  }

  fence(lines, start, match, parent) {
    const [, marks, info] = match;
    const indent = /^ */.exec(lines[start])[0].length;
    const code = [];
    let i = start + 1;
    for (; i < lines.length; i++) {
      const close = new RegExp(`^ {0,3}${marks[0] === "`" ? "`" : "~"}{${marks.length},}\\s*$`);
      if (close.test(lines[i])) {
        i++;
        break;
      }
      code.push(lines[i].replace(new RegExp(`^ {0,${indent}}`), ""));
    }
    const pre = el("pre");
    const element = el("code", null, code.join("\n"));
    if (info) {
      element.dataset.language = info;
      pre.dataset.language = info;
    }
    pre.append(element);
    pre.tabIndex = 0; // scrollable regions must be reachable by keyboard
    parent.append(pre);
    return i;
  }

  list(lines, start, parent) {
    const first = ITEM.exec(lines[start]);
    const ordered = /\d/.test(first[2]);
    const list = el(ordered ? "ol" : "ul");
    if (ordered) {
      const number = parseInt(first[2], 10);
      if (number !== 1) list.start = number;
    }
    const base = first[1].length;
    let i = start;
    while (i < lines.length) {
      const match = ITEM.exec(lines[i]);
      if (!match || match[1].length !== base || /\d/.test(match[2]) !== ordered) break;
      const contentIndent = match[0].length;
      const body = [lines[i].slice(contentIndent)];
      i++;
      while (i < lines.length) {
        const line = lines[i];
        if (BLANK.test(line)) {
          const next = lines[i + 1];
          if (next !== undefined && /^\s*/.exec(next)[0].length >= contentIndent && !BLANK.test(next)) {
            body.push("");
            i++;
            continue;
          }
          break;
        }
        const indent = /^\s*/.exec(line)[0].length;
        if (indent >= contentIndent) body.push(line.slice(Math.min(indent, contentIndent)));
        else if (!startsBlock(line, lines[i + 1]) && indent > base) body.push(line.trim());
        else if (!startsBlock(line, lines[i + 1]) && !ITEM.test(line) && indent <= base && body.length && !BLANK.test(body[body.length - 1])) {
          body.push(line.trim()); // a lazy continuation line
        } else break;
        i++;
      }
      const item = el("li");
      if (body.length === 1 || !body.some((line, n) => n > 0 && startsBlock(line, body[n + 1]))) {
        if (body.some((line) => BLANK.test(line))) this.blocks(body, item);
        else item.append(...inline(body.join("\n")));
      } else {
        this.blocks(body, item);
      }
      list.append(item);
      while (i < lines.length && BLANK.test(lines[i]) && ITEM.test(lines[i + 1] || "") && ITEM.exec(lines[i + 1])[1].length === base) i++;
    }
    parent.append(list);
    return i;
  }

  table(lines, start, parent) {
    const header = splitRow(lines[start]);
    const aligns = splitRow(lines[start + 1]).map((cell) =>
      cell.startsWith(":") && cell.endsWith(":") ? "center" : cell.endsWith(":") ? "right" : cell.startsWith(":") ? "left" : "",
    );
    const wrapper = el("div", "table-scroll");
    wrapper.tabIndex = 0;
    const table = el("table");
    const head = el("thead");
    const headRow = el("tr");
    header.forEach((text, n) => {
      const th = el("th");
      th.scope = "col";
      if (aligns[n]) th.className = `align-${aligns[n]}`;
      th.append(...inline(text));
      headRow.append(th);
    });
    head.append(headRow);
    table.append(head);
    const body = el("tbody");
    let i = start + 2;
    while (i < lines.length && !BLANK.test(lines[i]) && lines[i].includes("|")) {
      const row = el("tr");
      const cells = splitRow(lines[i]);
      header.forEach((_, n) => {
        const td = el("td");
        if (aligns[n]) td.className = `align-${aligns[n]}`;
        td.append(...inline(cells[n] || ""));
        row.append(td);
      });
      body.append(row);
      i++;
    }
    table.append(body);
    wrapper.append(table);
    parent.append(wrapper);
    return i;
  }
}

/** Render ``markdown`` into ``container`` (its previous content is replaced). */
export function render(markdown, container) {
  const fragment = document.createDocumentFragment();
  new Renderer().blocks(markdown.replace(/\r\n?/g, "\n").split("\n"), fragment);
  container.replaceChildren(fragment);
}
