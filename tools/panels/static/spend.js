/* spend.js: the spend panel (tools/status.py ServerStatus with its `spend`, tools/spending.py SpendReport):
 * spend per AI and model per day for the last 30 days (meta.resultMeta["junior/spend-history"], when the
 * server sends it) as stacked CSS bars, each cap with what is left, spend per caller in team mode, and
 * each AI's health (breaker, concurrency limit, p95 latency). Served as well at /dashboard. */
"use strict";

var SPEND_HISTORY_KEY = "junior/spend-history";
var SPEND_SERIES_COLOURS = 8; // --s0 … --s7 in theme.css; more series share the last one

function renderSpend(root, s, meta) {
  root.textContent = "";
  root.className = "spend";
  s = s || {};
  var spend = s.spend || {};
  var today = (spend.today || []).reduce(function (sum, l) { return sum + l.cost_usd; }, 0);
  root.appendChild(el("header", { className: "panel-head" }, el("h1", null, "Spend and health"),
    el("p", { className: "summary muted" }, "today (UTC): " + dollars(today) + " · usable AIs: " + ((s.usable || []).map(cleanText).join(", ") || "none"))));
  if (spend.note) root.appendChild(el("p", { className: "notes" }, cleanText(spend.note)));
  var history = meta && meta.resultMeta && meta.resultMeta[SPEND_HISTORY_KEY];
  root.appendChild(spendHistory(history));
  root.appendChild(spendTotals(spend));
  root.appendChild(spendCaps(spend));
  var callers = spendCallers(spend);
  if (callers) root.appendChild(callers);
  root.appendChild(spendHealth(s.ais || []));
  if (s.problems && s.problems.length) root.appendChild(el("section", { id: "problems" }, el("h2", null, "Problems"), notesList(s.problems)));
}

function spendSeriesName(line) {
  return cleanText(line.ai) + ":" + (line.model == null ? "?" : cleanText(line.model));
}

/** The last `days` UTC days ending with the newest day in the data (or today), oldest first. */
function spendDays(daily, days) {
  var newest = daily.reduce(function (most, d) { return d.day > most ? d.day : most; }, new Date().toISOString().slice(0, 10));
  var end = Date.parse(newest + "T00:00:00Z");
  var out = [];
  for (var i = days - 1; i >= 0; i--) out.push(new Date(end - i * 86400000).toISOString().slice(0, 10));
  return out;
}

function spendHistory(history) {
  var section = el("section", { id: "history" }, el("h2", null, "Last 30 days, per AI and model"));
  if (!history || !Array.isArray(history.daily)) {
    section.appendChild(el("p", { className: "no-history muted" }, "No history: this server sent no daily spend."));
    return section;
  }
  var days = spendDays(history.daily, Math.max(1, Math.min(366, history.days || 30)));
  var series = [], perDay = {}, totals = {}, most = 0;
  history.daily.forEach(function (d) {
    var name = spendSeriesName(d);
    if (series.indexOf(name) === -1) series.push(name);
    var cell = perDay[d.day] || (perDay[d.day] = {});
    cell[name] = (cell[name] || 0) + (d.cost_usd || 0);
    var t = totals[name] || (totals[name] = { cost: 0, calls: 0, errors: 0, unknown: 0 });
    t.cost += d.cost_usd || 0; t.calls += d.calls || 0; t.errors += d.errors || 0; t.unknown += d.unknown_cost_calls || 0;
  });
  days.forEach(function (day) {
    var sum = 0, cell = perDay[day] || {};
    for (var k in cell) sum += cell[k];
    most = Math.max(most, sum);
  });
  var chart = el("div", { className: "chart", attrs: { role: "img", "aria-label": "spend per day, last " + days.length + " days" } });
  days.forEach(function (day) {
    var cell = perDay[day] || {}, sum = 0;
    var column = el("div", { className: "day", dataset: { day: day } });
    series.forEach(function (name, index) {
      if (!cell[name]) return;
      sum += cell[name];
      var seg = el("span", { className: "seg", title: day + " " + name + ": " + dollars(cell[name]), dataset: { series: name } });
      seg.style.height = (most > 0 ? (cell[name] / most) * 100 : 0) + "%";
      seg.style.background = "var(--s" + Math.min(index, SPEND_SERIES_COLOURS - 1) + ")";
      column.appendChild(seg);
    });
    column.title = day + ": " + dollars(sum);
    chart.appendChild(column);
  });
  section.appendChild(chart);
  section.appendChild(el("div", { className: "axis muted" }, el("span", null, days[0]), el("span", null, "max " + dollars(most) + "/day"), el("span", null, days[days.length - 1])));
  var body = el("tbody");
  series.forEach(function (name, index) {
    var t = totals[name];
    var swatch = el("span", { className: "swatch" });
    swatch.style.background = "var(--s" + Math.min(index, SPEND_SERIES_COLOURS - 1) + ")";
    body.appendChild(el("tr", { className: "series", dataset: { series: name } }, el("th", null, swatch, name),
      el("td", null, dollars(t.cost)), el("td", null, String(t.calls)),
      el("td", null, t.errors ? String(t.errors) : "0"), el("td", null, t.unknown ? String(t.unknown) : "0")));
  });
  var head = el("tr", null, el("th", null, "AI:model"), el("th", null, "Cost"), el("th", null, "Calls"), el("th", null, "Failed"), el("th", null, "Unpriced"));
  section.appendChild(el("div", { className: "scroll-x" }, el("table", { className: "legend" }, el("thead", null, head), body)));
  if (!series.length) section.appendChild(el("p", { className: "muted" }, "Nothing spent in these days."));
  return section;
}

/** Today, the last 7 days and all time per AI and model, as the structured content has them. */
function spendTotals(spend) {
  var spans = [["today", "Today"], ["last_7_days", "7 days"], ["all_time", "All time"]];
  var rows = {}, names = [];
  spans.forEach(function (span, column) {
    (spend[span[0]] || []).forEach(function (line) {
      var name = spendSeriesName(line);
      if (!rows[name]) { rows[name] = [null, null, null]; names.push(name); }
      rows[name][column] = line;
    });
  });
  var section = el("section", { id: "totals" }, el("h2", null, "Per AI and model"));
  if (!names.length) {
    section.appendChild(el("p", { className: "muted" }, "Nothing spent yet."));
    return section;
  }
  var head = el("tr", null, el("th", null, "AI:model"), spans.map(function (span) { return el("th", null, span[1]); }));
  var body = el("tbody", null, names.map(function (name) {
    return el("tr", { className: "total-line", dataset: { series: name } }, el("th", null, name), rows[name].map(function (line) {
      return el("td", null, line ? dollars(line.cost_usd) + " (" + line.calls + ")" : "-");
    }));
  }));
  section.appendChild(el("div", { className: "scroll-x" }, el("table", { className: "totals" }, el("thead", null, head), body)));
  section.appendChild(el("p", { className: "muted" }, "cost (calls); calls of unknown cost are not in the cost"));
  return section;
}

function spendCaps(spend) {
  var section = el("section", { id: "caps" }, el("h2", null, "Caps"));
  var caps = spend.caps || [];
  if (!caps.length && spend.max_usd_per_call == null) section.appendChild(el("p", { className: "muted" }, "No spending caps."));
  caps.forEach(function (cap) {
    var used = cap.limit_usd > 0 ? Math.min(1, cap.spent_usd / cap.limit_usd) : 1;
    var bar = el("span", { className: "bar" + (used >= 0.9 ? " low" : "") }, el("span", { className: "fill" }));
    bar.firstChild.style.width = used * 100 + "%";
    section.appendChild(el("div", { className: "cap", dataset: { cap: cleanText(cap.name) } },
      el("div", null, el("strong", null, cleanText(cap.name)), " ", el("span", { className: "muted" }, dollars(cap.spent_usd) + " of " + dollars(cap.limit_usd))),
      bar, el("div", { className: "left" }, "left: " + dollars(cap.left_usd))));
  });
  if (spend.max_usd_per_call != null) section.appendChild(el("p", { className: "per-call muted" }, "per call: " + dollars(spend.max_usd_per_call) + " at most (worst case, checked before sending)"));
  if (spend.ledger_behind) section.appendChild(el("p", { className: "failure" }, "The ledger is behind: " + spend.ledger_behind + " calls could not be written."));
  return section;
}

function spendCallerTable(title, lines, key) {
  var body = el("tbody", null, lines.map(function (l) {
    return el("tr", { className: "caller", dataset: { caller: l.caller == null ? "" : cleanText(l.caller) } },
      el("th", null, l.caller == null ? "(stdio)" : cleanText(l.caller)), el("td", null, dollars(l.cost_usd)), el("td", null, String(l.calls)));
  }));
  return el("div", { className: "scroll-x", dataset: { span: key } }, el("h3", null, title),
    el("table", { className: "callers" }, el("thead", null, el("tr", null, el("th", null, "Caller"), el("th", null, "Cost"), el("th", null, "Calls"))), body));
}

/** Per caller, in team mode only (over stdio alone there is one person: nothing to split). */
function spendCallers(spend) {
  var today = spend.callers_today || [], week = spend.callers_last_7_days || [];
  var named = today.concat(week).some(function (l) { return l.caller != null; });
  if (!named) return null;
  return el("section", { id: "callers" }, el("h2", null, "Per caller"),
    el("div", { className: "cols" }, spendCallerTable("Today", today, "today"), spendCallerTable("Last 7 days", week, "last_7_days")));
}

function spendHealth(ais) {
  var body = el("tbody", null, ais.map(function (ai) {
    var m = ai.metrics;
    var state = !ai.enabled ? "disabled" : !ai.usable ? "not usable" : "ready";
    var breaker = m ? m.breaker_state : "-";
    var failed = m ? Object.keys(m.failures || {}).reduce(function (n, k) { return n + m.failures[k]; }, 0) : 0;
    return el("tr", { className: "ai-health " + (breaker === "open" ? "open" : ""), dataset: { ai: cleanText(ai.name) } },
      el("th", null, cleanText(ai.name), el("div", { className: "muted" }, cleanText(ai.model))),
      el("td", { className: "state" }, state),
      el("td", { className: "breaker" + (breaker === "open" ? " failure" : "") }, breaker),
      el("td", { className: "limit" }, m ? String(m.concurrency_limit) : "-"),
      el("td", { className: "p95" }, m ? seconds(m.latency_p95_s) : "-"),
      el("td", { className: "calls" }, m ? m.calls + (failed ? " (" + failed + " failed)" : "") : "-"));
  }));
  var head = el("tr", null, ["AI", "State", "Breaker", "Limit", "p95", "Calls"].map(function (h) { return el("th", null, h); }));
  return el("section", { id: "health" }, el("h2", null, "Health"), el("div", { className: "scroll-x" }, el("table", { className: "health" }, el("thead", null, head), body)));
}

function renderPanel(root, structured, meta) {
  applyTheme(meta && meta.theme);
  return renderSpend(root, structured, meta);
}
