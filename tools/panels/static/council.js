/* council.js: the council panel (collab/council.py CouncilResult, as ai_consensus returns it with
 * method "council"): what failed or was cut first when the result is degraded, then the candidates side
 * by side, each reviewer's ranking with the labels it saw, the Borda scores as bars (ties explained),
 * the dissent, the chairman's synthesis, and the cost and time of each stage. A vote result goes to
 * renderAnswers when answers.js is in the same document. */
"use strict";

var COUNCIL_STAGES = [["answers", "Answers"], ["reviews", "Reviews"], ["synthesis", "Synthesis"]];

function renderCouncil(root, s, meta) {
  root.textContent = "";
  root.className = "council";
  var degraded = councilDegraded(s);
  if (degraded.length) {
    root.appendChild(el("section", { id: "degraded", className: "degraded", attrs: { role: "alert" } },
      el("h2", null, "Degraded result"), el("ul", null, degraded.map(function (n) { return el("li", null, n); }))));
  }
  var top = (s.scores || []).filter(function (x) { return x.author === s.winner; })[0];
  var verdict = top && top.score != null
    ? cleanText(top.author) + " ranked first (score " + top.score.toFixed(2) + ", first for " + top.first_places + " of " + top.reviewers + ")"
    : "No ranking";
  verdict += s.chairman ? " · chairman: " + cleanText(s.chairman) : " · no chairman";
  root.appendChild(el("header", { className: "panel-head" }, el("h1", null, "Council"),
    el("p", { className: "question" }, cleanText(s.question)), el("p", { className: "verdict muted" }, verdict)));
  root.appendChild(councilCandidates(s));
  root.appendChild(councilRankings(s));
  root.appendChild(councilScores(s));
  if (s.dissent && s.dissent.length) root.appendChild(councilDissent(s));
  root.appendChild(councilSynthesis(s));
  root.appendChild(councilCosts(s));
}

/** What failed or was cut, as sentences: the result's notes (they name every failure, skipped stage and
 * cut), and each partial answer, which the notes do not mention. */
function councilDegraded(s) {
  var said = (s.notes || []).map(cleanText);
  [].concat(s.answers || [], s.reviews || [], s.synthesis ? [s.synthesis] : []).forEach(function (r) {
    if (r.ok && r.partial) said.push(cleanText(r.ai) + "'s answer was cut off after " + seconds(r.latency_s) + " (partial)");
  });
  return said;
}

function councilCandidates(s) {
  var cols = el("div", { className: "cols" });
  (s.answers || []).forEach(function (r) { cols.appendChild(aiColumn(r)); });
  if ((s.candidates || []).indexOf("host") !== -1) {
    var host = el("article", { className: "col answer host", dataset: { ai: "host" } },
      el("header", null, el("h3", { className: "ai-name" }, "host"), el("span", { className: "badge host" }, "your answer")),
      el("p", { className: "meta" }, "Reviewed anonymously with the others; its text stays with you."));
    cols.appendChild(host);
  }
  return el("section", { id: "candidates" }, el("h2", null, "Answers"), cols);
}

function councilRankings(s) {
  var rankings = {};
  (s.rankings || []).forEach(function (k) { rankings[k.reviewer] = k; });
  var width = 0;
  (s.rankings || []).forEach(function (k) { width = Math.max(width, Object.keys(k.shown || {}).length); });
  var head = el("tr", null, el("th", null, "Reviewer"));
  for (var i = 1; i <= width; i++) head.appendChild(el("th", null, i === 1 ? "1st" : i === 2 ? "2nd" : i === 3 ? "3rd" : i + "th"));
  var body = el("tbody");
  (s.reviews || []).forEach(function (review) {
    var k = rankings[review.ai];
    var row = el("tr", { className: "ranking", dataset: { reviewer: cleanText(review.ai) } }, el("th", null, cleanText(review.ai)));
    if (!review.ok || !k || !k.parsed) {
      row.classList.add(review.ok ? "unparsed" : "failed");
      var why = review.ok ? "no readable ranking: not counted" : "did not review: " + (review.error_kind || "failed") + ": " + cleanText(review.error || "");
      row.appendChild(el("td", { className: review.ok ? "muted" : "failure", colSpan: Math.max(width, 1) }, why));
      body.appendChild(row);
      return;
    }
    var labelOf = {};
    Object.keys(k.shown).forEach(function (name) { labelOf[k.shown[name]] = name; });
    k.ranked.forEach(function (author) {
      var cell = el("td", { className: "place", dataset: { author: cleanText(author), label: labelOf[author] } },
        el("span", { className: "label" }, labelOf[author]), " = ",
        el("span", { className: "author" + (author === "host" ? " host-mark" : "") }, cleanText(author)));
      if (k.reasons && k.reasons[author]) cell.title = cleanText(k.reasons[author]);
      row.appendChild(cell);
    });
    for (var j = k.ranked.length; j < width; j++) row.appendChild(el("td", { className: "muted" }, "—"));
    body.appendChild(row);
    var saw = Object.keys(k.shown).map(function (name) { return name + " = " + cleanText(k.shown[name]); }).join(", ");
    body.appendChild(el("tr", { className: "shown muted" }, el("td", { colSpan: width + 1 }, "shown in this order: " + saw)));
  });
  var table = el("table", { className: "rankings" }, el("thead", null, head), body);
  var section = el("section", { id: "rankings" }, el("h2", null, "Reviews"));
  if (!(s.reviews || []).length) section.appendChild(el("p", { className: "muted" }, "No review took place."));
  else section.appendChild(el("p", { className: "muted" }, "Each reviewer's ranking, best first, under the labels it saw: label = whose answer."));
  if ((s.reviews || []).length) section.appendChild(el("div", { className: "scroll-x" }, table));
  return section;
}

/** Why `a` stands before `b` when their scores are equal: the Borda tie rule of collab/ranking.py. */
function councilTieReason(a, b, order) {
  if (a.first_places !== b.first_places) return "more first places (" + a.first_places + " to " + b.first_places + ")";
  if (a.reviewers !== b.reviewers) return "more reviewers ranked it (" + a.reviewers + " to " + b.reviewers + ")";
  return order.indexOf(a.author) < order.indexOf(b.author) ? "it answered earlier" : "the order given";
}

function councilScores(s) {
  var section = el("section", { id: "scores" }, el("h2", null, "Scores (Borda, 0 to 1)"));
  var scores = s.scores || [];
  if (!scores.length) {
    section.appendChild(el("p", { className: "muted" }, "No scores: no ranking was counted."));
    return section;
  }
  var list = el("ol", { className: "scores" });
  var ties = [];
  scores.forEach(function (x, index) {
    var bar = el("span", { className: "bar" }, el("span", { className: "fill" }));
    bar.firstChild.style.width = x.score == null ? "0%" : Math.max(0, Math.min(1, x.score)) * 100 + "%";
    var detail = x.score == null ? "not ranked" : "first for " + x.first_places + " of " + x.reviewers;
    list.appendChild(el("li", { className: "score" + (x.author === s.winner ? " winner" : ""), dataset: { author: cleanText(x.author) } },
      el("span", { className: "name" + (x.author === "host" ? " host-mark" : "") }, cleanText(x.author)), bar,
      el("span", { className: "value" }, x.score == null ? "—" : x.score.toFixed(2)),
      el("span", { className: "detail muted" }, detail)));
    var next = scores[index + 1];
    if (next && x.score != null && next.score === x.score) {
      ties.push(cleanText(x.author) + " and " + cleanText(next.author) + " tie at " + x.score.toFixed(2) + "; " +
        cleanText(x.author) + " comes first: " + councilTieReason(x, next, s.candidates || []) + ".");
    }
  });
  section.appendChild(list);
  if (ties.length) section.appendChild(el("ul", { className: "ties muted" }, ties.map(function (t) { return el("li", null, t); })));
  return section;
}

function councilDissent(s) {
  return el("section", { id: "dissent" }, el("h2", null, "Dissent"), el("ul", null, s.dissent.map(function (d) {
    var line = [el("strong", null, cleanText(d.reviewer)), " preferred " + cleanText(d.preferred)];
    if (d.reason) line.push(": " + cleanText(d.reason));
    if (d.on_winner) line.push(" (on " + cleanText(s.winner || "the winner") + ": " + cleanText(d.on_winner) + ")");
    return el("li", { className: "dissent" }, line);
  })));
}

function councilSynthesis(s) {
  var section = el("section", { id: "synthesis" });
  if (!s.synthesis) {
    section.appendChild(el("h2", null, "Final answer"));
    section.appendChild(el("p", { className: "muted" }, "No final answer was written."));
    return section;
  }
  section.appendChild(el("h2", null, "Final answer (by " + cleanText(s.chairman || s.synthesis.ai) + ", chairman)"));
  section.appendChild(el("div", { className: "cols" }, aiColumn(s.synthesis)));
  return section;
}

/** Each stage's cost (the answers that arrived, as far as priced) and time (its slowest call); the total
 * is the structured content's `total_cost_usd`. */
function councilCosts(s) {
  var body = el("tbody");
  var time = 0;
  COUNCIL_STAGES.forEach(function (stage) {
    var results = stage[0] === "synthesis" ? (s.synthesis ? [s.synthesis] : []) : s[stage[0]] || [];
    var known = results.filter(function (r) { return r.ok && r.cost_usd != null; });
    var cost = known.reduce(function (sum, r) { return sum + r.cost_usd; }, 0);
    var slowest = results.reduce(function (most, r) { return Math.max(most, r.latency_s || 0); }, 0);
    time += slowest;
    var unknown = results.filter(function (r) { return r.ok && r.cost_usd == null; }).length;
    body.appendChild(el("tr", { className: "stage", dataset: { stage: stage[0] } }, el("th", null, stage[1]),
      el("td", { className: "calls" }, results.length + " call" + (results.length === 1 ? "" : "s")),
      el("td", { className: "time" }, results.length ? seconds(slowest) : "-"),
      el("td", { className: "cost", dataset: { usd: String(cost) } }, known.length ? dollars(cost) + (unknown ? " (+" + unknown + " unpriced)" : "") : results.length ? "unknown" : "-")));
  });
  var total = s.total_cost_usd;
  var foot = el("tfoot", null, el("tr", { className: "total" }, el("th", null, "Total"), el("td"),
    el("td", { className: "time" }, seconds(time)),
    el("td", { id: "total-cost", className: "cost", dataset: { usd: String(total) } }, dollars(total))));
  var head = el("thead", null, el("tr", null, el("th", null, "Stage"), el("th", null, "Calls"), el("th", null, "Time"), el("th", null, "Cost")));
  return el("section", { id: "costs" }, el("h2", null, "Cost and time"), el("div", { className: "scroll-x" }, el("table", { className: "stages" }, head, body, foot)));
}

function renderPanel(root, structured, meta) {
  applyTheme(meta && meta.theme);
  if (structured && structured.method !== "council" && typeof renderAnswers === "function") return renderAnswers(root, structured, meta);
  if (!structured || structured.method !== "council") {
    root.textContent = "";
    root.appendChild(el("p", { className: "failure" }, "This panel shows a council; this result is not one."));
    return;
  }
  return renderCouncil(root, structured, meta);
}
