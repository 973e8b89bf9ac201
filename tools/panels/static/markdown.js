/* markdown.js: a small, safe markdown renderer for untrusted AI text, and the DOM helpers every panel
 * shares. Everything is built with createElement / createTextNode / textContent: no HTML string is ever
 * parsed, so a `<script>` or `<img onerror>` in an answer is shown as the characters it is.
 *
 *   renderMarkdown(text) -> DocumentFragment
 *
 * Blocks: paragraphs, ATX headings (as h4-h6, under the panel's own), fenced code, lists (nested by indentation), block quotes, rules.
 * Inline: emphasis, strong, strike, code spans, backslash escapes, links to http(s) URLs only (shown
 * with their URL; a click never navigates the frame: it asks the host through window.openLink when the
 * bridge defines it). Anything else is text. Work is bounded on any input (see the limits below).
 */
"use strict";

var MD_MAX_DEPTH = 8; // nesting of quotes and lists; deeper is text
var MD_MAX_INLINE = 8000; // characters of one paragraph parsed for inline markup; longer: plain text
var MD_URL = /^https?:\/\/[^\s<>"']+$/i;

/** `text` with lone surrogates replaced by U+FFFD and NULs dropped. */
function cleanText(text) {
  return String(text == null ? "" : text)
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD")
    .replace(/\u0000/g, "");
}

/** An element: el("p", {className: "x"}, "text", childNode, ...); properties only, never HTML. */
function el(tag, props) {
  var node = document.createElement(tag);
  if (props) {
    for (var key in props) {
      if (key === "dataset") Object.assign(node.dataset, props[key]);
      else if (key === "attrs") for (var name in props[key]) node.setAttribute(name, props[key][name]);
      else node[key] = props[key];
    }
  }
  for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
  return node;
}

function append(node, child) {
  if (child == null || child === false) return;
  if (Array.isArray(child)) child.forEach(function (c) { append(node, c); });
  else node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
}

function renderMarkdown(text) {
  var fragment = document.createDocumentFragment();
  var lines = cleanText(text).replace(/\r\n?/g, "\n").split("\n");
  mdBlocks(lines, fragment, 0);
  return fragment;
}

var MD_FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
var MD_HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$/;
var MD_RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
var MD_QUOTE = /^ {0,3}> ?/;
var MD_ITEM = /^( {0,12})([-*+]|\d{1,9}[.)])(?:\s+|$)(.*)$/;

function mdBlocks(lines, parent, depth) {
  var i = 0;
  while (i < lines.length) {
    var line = lines[i];
    var found;
    if (!line.trim()) { i++; continue; }
    if ((found = MD_FENCE.exec(line))) {
      var close = new RegExp("^ {0,3}" + found[1][0] + "{" + found[1].length + ",}\\s*$");
      var body = [];
      for (i++; i < lines.length && !close.test(lines[i]); i++) body.push(lines[i]);
      i++;
      var code = el("code", null, body.join("\n"));
      if (found[2]) code.dataset.lang = found[2];
      parent.appendChild(el("pre", null, code));
      continue;
    }
    if ((found = MD_HEADING.exec(line))) {
      // Under the panel's own h1-h3: "#" is an h4, "###" and deeper an h6.
      parent.appendChild(mdInline(el("h" + Math.min(6, found[1].length + 3)), found[2] || ""));
      i++;
      continue;
    }
    if (MD_RULE.test(line)) { parent.appendChild(el("hr")); i++; continue; }
    if (MD_QUOTE.test(line) && depth < MD_MAX_DEPTH) {
      var quoted = [];
      for (; i < lines.length && MD_QUOTE.test(lines[i]); i++) quoted.push(lines[i].replace(MD_QUOTE, ""));
      var quote = el("blockquote");
      mdBlocks(quoted, quote, depth + 1);
      parent.appendChild(quote);
      continue;
    }
    if ((found = MD_ITEM.exec(line)) && depth < MD_MAX_DEPTH) {
      i = mdList(lines, i, parent, depth);
      continue;
    }
    var para = [];
    for (; i < lines.length && lines[i].trim() && !mdStartsBlock(lines[i]); i++) para.push(lines[i].trim());
    if (!para.length) para.push(lines[i++].trim()); // a block start too deep to nest: its line as text
    parent.appendChild(mdParagraph(para));
  }
}

function mdStartsBlock(line) {
  return MD_FENCE.test(line) || MD_HEADING.test(line) || MD_RULE.test(line) || MD_QUOTE.test(line) || MD_ITEM.test(line);
}

function mdParagraph(lines) {
  var p = el("p");
  lines.forEach(function (line, index) {
    if (index) p.appendChild(el("br"));
    mdInline(p, line);
  });
  return p;
}

/** A list starting at lines[start]: its items, each with the lines indented under it; the index after it. */
function mdList(lines, start, parent, depth) {
  var first = MD_ITEM.exec(lines[start]);
  var ordered = /\d/.test(first[2]);
  var indent = first[1].length;
  var list = el(ordered ? "ol" : "ul");
  if (ordered && parseInt(first[2], 10) !== 1) list.start = parseInt(first[2], 10);
  var i = start;
  while (i < lines.length) {
    var item = MD_ITEM.exec(lines[i]);
    if (!item || item[1].length !== indent || /\d/.test(item[2]) !== ordered) break;
    var body = [item[3]];
    for (i++; i < lines.length; i++) {
      var next = lines[i];
      if (!next.trim()) {
        var after = lines[i + 1];
        if (after !== undefined && /^\s/.test(after) && after.search(/\S/) > indent) { body.push(""); continue; }
        break;
      }
      var nested = MD_ITEM.exec(next);
      if (nested && nested[1].length <= indent) break;
      if (!nested && next.search(/\S/) <= indent && !/^\s/.test(next)) { body.push(next); continue; } // lazy line
      body.push(next.replace(new RegExp("^ {0," + (indent + 4) + "}"), ""));
    }
    var li = el("li");
    if (body.length === 1 || body.slice(1).every(function (l) { return !l.trim() || !mdStartsBlock(l); })) {
      mdInline(li, body.filter(function (l) { return l.trim(); }).map(function (l) { return l.trim(); }).join(" "));
    } else {
      mdBlocks(body, li, depth + 1);
    }
    list.appendChild(li);
    while (i < lines.length && !lines[i].trim()) {
      var again = lines[i + 1] !== undefined && MD_ITEM.exec(lines[i + 1]);
      if (again && again[1].length === indent) i++;
      else break;
    }
  }
  parent.appendChild(list);
  return i;
}

/** Inline markup of `text` appended to `parent` (returned). */
function mdInline(parent, text) {
  if (text.length > MD_MAX_INLINE) {
    parent.appendChild(document.createTextNode(text));
    return parent;
  }
  mdSpans(parent, text, 0, {});
  return parent;
}

var MD_PUNCT = /[!-\/:-@\[-`{-~]/;

function mdSpans(parent, text, depth, missing) {
  var plain = "";
  function flush() {
    if (plain) parent.appendChild(document.createTextNode(plain));
    plain = "";
  }
  var i = 0;
  while (i < text.length) {
    var c = text[i];
    if (c === "\\" && i + 1 < text.length && MD_PUNCT.test(text[i + 1])) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    if (c === "`") {
      var run = /^`+/.exec(text.slice(i, i + 64))[0];
      var end = missing[run] ? -1 : text.indexOf(run, i + run.length);
      while (end !== -1 && text[end + run.length] === "`") end = text.indexOf(run, end + run.length + 1);
      if (end === -1) {
        missing[run] = true;
        plain += run;
        i += run.length;
        continue;
      }
      flush();
      parent.appendChild(el("code", null, text.slice(i + run.length, end).replace(/^ (.*) $/, "$1")));
      i = end + run.length;
      continue;
    }
    if (c === "[" && depth < 4) {
      var link = mdLink(text, i, missing);
      if (link) {
        flush();
        parent.appendChild(mdAnchor(link.label, link.url, depth, missing));
        i = link.end;
        continue;
      }
    }
    if ((c === "*" || c === "_" || c === "~") && depth < 6) {
      var delim = /^(\*{1,3}|_{1,3}|~~)/.exec(text.slice(i, i + 3));
      var span = delim && mdEmphasis(text, i, delim[0], missing);
      if (span) {
        flush();
        var tag = delim[0][0] === "~" ? "del" : delim[0].length === 1 ? "em" : delim[0].length === 2 ? "strong" : "strong";
        var node = el(tag);
        if (delim[0].length === 3) {
          var inner = el("em");
          mdSpans(inner, span.body, depth + 1, {});
          node.appendChild(inner);
        } else {
          mdSpans(node, span.body, depth + 1, {});
        }
        parent.appendChild(node);
        i = span.end;
        continue;
      }
      if (delim) {
        plain += delim[0];
        i += delim[0].length;
        continue;
      }
    }
    plain += c;
    i++;
  }
  flush();
}

/** An emphasis opened by `delim` at `start`: its body and where it ends, or null. */
function mdEmphasis(text, start, delim, missing) {
  var from = start + delim.length;
  if (from >= text.length || /\s/.test(text[from])) return null;
  if (delim[0] === "_" && start > 0 && /\w/.test(text[start - 1])) return null; // snake_case stays text
  if (missing[delim]) return null;
  var at = text.indexOf(delim, from + 1);
  for (var tries = 0; at !== -1 && tries < 32; tries++) {
    var ok = !/\s/.test(text[at - 1]) && text[at + delim.length] !== delim[0];
    if (ok && delim[0] === "_" && /\w/.test(text[at + delim.length] || "")) ok = false;
    if (ok) return { body: text.slice(from, at), end: at + delim.length };
    at = text.indexOf(delim, at + 1);
  }
  if (at === -1) missing[delim] = true;
  return null;
}

/** A `[label](url)` at `start`: its label, its URL and where it ends, or null. */
function mdLink(text, start, missing) {
  if (missing["]("]) return null;
  var close = text.indexOf("](", start + 1);
  if (close === -1) { missing["]("] = true; return null; }
  var label = text.slice(start + 1, close);
  if (label.indexOf("[") !== -1 || label.indexOf("]") !== -1) return null;
  var end = text.indexOf(")", close + 2);
  if (end === -1) return null;
  var target = text.slice(close + 2, end).trim().split(/\s+/)[0] || "";
  return { label: label, url: target.replace(/^<(.*)>$/, "$1"), end: end + 1 };
}

/** A link: an <a> for an http(s) URL (its URL shown after it), else its label and target as text. */
function mdAnchor(label, url, depth, missing) {
  var span = el("span", { className: "link" });
  if (!MD_URL.test(url)) {
    span.appendChild(document.createTextNode("[" + label + "](" + url + ")"));
    return span;
  }
  var a = el("a", { href: url, rel: "noopener noreferrer nofollow", title: url });
  a.addEventListener("click", function (event) {
    event.preventDefault(); // never navigate the frame; the host opens links when it is asked to
    if (typeof window.openLink === "function") window.openLink(url);
  });
  mdSpans(a, label, depth + 1, missing);
  span.appendChild(a);
  if (label.trim() !== url) span.appendChild(el("span", { className: "url" }, " (" + url + ")"));
  return span;
}

// -- helpers the panels share ------------------------------------------------------------------

var FOLD_CHARS = 12000; // of an answer rendered as markdown at first; the rest behind "show all"

/** "$0.0011", "$12.50", "$0", "unknown": as tools/spending.py's dollars() writes amounts. */
function dollars(usd) {
  if (usd == null || !isFinite(usd)) return "unknown";
  if (usd <= 0) return "$0";
  if (usd < 0.000001) return "<$0.000001";
  if (usd >= 1) return "$" + usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  var places = Math.max(2, 1 - Math.floor(Math.log10(usd)));
  return "$" + usd.toFixed(places);
}

function seconds(s) {
  return s == null || !isFinite(s) ? "-" : Number(s).toFixed(2) + " s";
}

function count(n) {
  return n == null ? "?" : Number(n).toLocaleString("en-US");
}

/** Apply the host's theme ("light" / "dark"); anything else leaves the system's preference. */
function applyTheme(theme) {
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
}

/** `text` into `box`: markdown for the first FOLD_CHARS characters, the rest behind a "show all" button
 * that shows the whole text as plain text. */
function fillText(box, text) {
  text = cleanText(text);
  box.textContent = "";
  if (text.length <= FOLD_CHARS) {
    box.appendChild(renderMarkdown(text));
    return;
  }
  var cut = text.lastIndexOf("\n", FOLD_CHARS);
  box.appendChild(renderMarkdown(text.slice(0, cut > FOLD_CHARS / 2 ? cut : FOLD_CHARS)));
  var more = el("button", { className: "show-all", type: "button" }, "Show all (" + count(text.length) + " characters)");
  more.addEventListener("click", function () {
    box.textContent = "";
    box.classList.add("plain");
    box.appendChild(document.createTextNode(text));
  });
  box.appendChild(el("p", null, more));
}

/** A button that copies `text` (the clipboard when the frame may write to it, else the text is selected). */
function copyButton(text, box) {
  var button = el("button", { className: "copy", type: "button" }, "Copy");
  button.addEventListener("click", function () {
    function select() {
      var range = document.createRange();
      range.selectNodeContents(box);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      button.textContent = "Selected: press Ctrl+C";
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { button.textContent = "Copied"; }, select);
    } else {
      select();
    }
  });
  return button;
}

/** One AI's result (callers.AIResult) as a column: name, model, badges, latency, tokens, cost, its text
 * as markdown or its failure as text, and a copy button. `extra` nodes go before the text. */
function aiColumn(result, extra) {
  var state = !result.ok ? "failed" : result.partial ? "partial" : "ok";
  var col = el("article", { className: "col answer " + state, dataset: { ai: cleanText(result.ai) } });
  var head = el("header", null, el("h3", { className: "ai-name" }, cleanText(result.ai)));
  if (result.model) head.appendChild(el("span", { className: "model muted" }, cleanText(result.model)));
  if (state !== "ok") head.appendChild(el("span", { className: "badge " + state }, state));
  col.appendChild(head);
  var meta = el("div", { className: "meta" }, el("span", { className: "latency" }, seconds(result.latency_s)));
  if (result.input_tokens != null || result.output_tokens != null) {
    meta.appendChild(el("span", { className: "tokens" }, count(result.input_tokens) + " in / " + count(result.output_tokens) + " out"));
  }
  if (result.ok) meta.appendChild(el("span", { className: "cost" }, dollars(result.cost_usd)));
  col.appendChild(meta);
  append(col, extra);
  if (!result.ok) {
    var why = (result.error_kind || "failed") + (result.status_code ? " (HTTP " + result.status_code + ")" : "");
    col.appendChild(el("p", { className: "failure" }, why + ": " + cleanText(result.error || "no reason given")));
    return col;
  }
  var box = el("div", { className: "text md" });
  fillText(box, result.text || "");
  col.appendChild(box);
  col.appendChild(el("div", { className: "actions" }, copyButton(cleanText(result.text || ""), box)));
  return col;
}

/** A list of notes (text), or nothing when there are none. */
function notesList(notes, className) {
  if (!notes || !notes.length) return null;
  return el("ul", { className: className || "notes" }, notes.map(function (n) { return el("li", null, cleanText(n)); }));
}
