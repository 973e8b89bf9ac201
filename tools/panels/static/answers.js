/* answers.js: the answers panel. ask_all_ais (tools/ask.py AskAllResult), ask_ai (one AIResult), the
 * consensus vote (collab/consensus.py ConsensusResult), the debate (collab/debate.py DebateResult) and
 * collaborative_solve (collab/solve.py SolveResult):
 * one column per AI with its text, latency, tokens and cost, partial or failed marked, a copy button.
 * A council (method "council") goes to renderCouncil when council.js is in the same document. */
"use strict";

function renderAnswers(root, s, meta) {
  root.textContent = "";
  root.className = "answers";
  var tool = (meta && meta.toolName) || "";
  if (s && Array.isArray(s.rounds)) renderDebate(root, s);
  else if (s && Array.isArray(s.votes)) renderVote(root, s);
  else if (s && Array.isArray(s.proposals)) renderSolve(root, s);
  else if (s && Array.isArray(s.results)) renderFanOut(root, s, tool);
  else if (s && typeof s.ok === "boolean") renderFanOut(root, { results: [s] }, tool);
  else root.appendChild(el("p", { className: "failure" }, "Nothing to show: this result has no answers."));
  var notes = notesList(s && s.notes);
  if (notes) root.appendChild(el("section", { id: "notes" }, el("h2", null, "Notes"), notes));
}

function answersHead(title, summary) {
  return el("header", { className: "panel-head" }, el("h1", null, title), el("p", { className: "summary muted" }, summary));
}

function costSummary(s, results) {
  var ok = results.filter(function (r) { return r.ok; }).length;
  var parts = [ok + " of " + results.length + " answered"];
  if (s.total_cost_usd !== undefined) parts.push("total " + dollars(s.total_cost_usd));
  return parts.join(" · ");
}

function columns(results, extra) {
  return el("div", { className: "cols" }, results.map(function (r) { return aiColumn(r, extra && extra(r)); }));
}

function renderFanOut(root, s, tool) {
  var results = s.results || [];
  root.appendChild(answersHead(tool === "ask_ai" ? "Answer" : "Answers", costSummary(s, results)));
  root.appendChild(el("section", { id: "answers" }, columns(results)));
  if (s.not_waited_for && s.not_waited_for.length) {
    root.appendChild(el("p", { className: "not-waited muted" }, "Not waited for (enough had answered): " + s.not_waited_for.map(cleanText).join(", ")));
  }
}

function voteLine(vote) {
  if (!vote) return null;
  if (!vote.parsed) return el("p", { className: "vote unparsed muted" }, "No readable vote: not counted");
  var parts = [el("strong", { className: "choice" }, cleanText(vote.choice))];
  if (vote.confidence != null) parts.push(" (confidence " + Number(vote.confidence).toFixed(2) + ")");
  if (vote.reason) parts.push(" — " + cleanText(vote.reason));
  return el("p", { className: "vote" }, parts);
}

function renderVote(root, s) {
  var headline = s.parsed ? (s.majority != null ? "Majority: " + cleanText(s.majority) : "No majority") +
    " (agreement " + Math.round(s.agreement * 100) + "%: " + s.agreeing + " of " + s.parsed + " parsed votes)" : "No majority";
  root.appendChild(answersHead("Vote: " + cleanText(s.question), headline + " · " + costSummary(s, s.results || [])));
  var table = el("table", { className: "votes" }, el("thead", null, el("tr", null, el("th", null, "AI"), el("th", null, "Vote"))));
  var body = el("tbody");
  (s.votes || []).forEach(function (vote) {
    var dissent = (s.dissent || []).some(function (d) { return d.ai === vote.ai; });
    var row = el("tr", { className: "vote-row" + (dissent ? " dissent" : ""), dataset: { ai: cleanText(vote.ai) } },
      el("th", null, cleanText(vote.ai), vote.ai === "host" ? el("span", { className: "badge host" }, "you") : null),
      el("td", null, voteLine(vote)));
    body.appendChild(row);
  });
  table.appendChild(body);
  root.appendChild(el("section", { id: "votes" }, el("h2", null, "Votes"), el("div", { className: "scroll-x" }, table)));
  var byAI = {};
  (s.votes || []).forEach(function (v) { byAI[v.ai] = v; });
  root.appendChild(el("section", { id: "answers" }, el("h2", null, "Answers"), columns(s.results || [], function (r) { return voteLine(byAI[r.ai]); })));
  if (s.not_waited_for && s.not_waited_for.length) {
    root.appendChild(el("p", { className: "not-waited muted" }, "Not waited for (the vote was decided): " + s.not_waited_for.map(cleanText).join(", ")));
  }
}

function renderDebate(root, s) {
  var all = [];
  s.rounds.forEach(function (r) { all = all.concat(r.results || []); });
  if (s.summary) all.push(s.summary);
  root.appendChild(answersHead("Debate: " + cleanText(s.topic), s.rounds.length + " round" + (s.rounds.length === 1 ? "" : "s") + " · " + costSummary(s, all)));
  s.rounds.forEach(function (played) {
    var section = el("section", { className: "round", dataset: { round: String(played.round) } }, el("h2", null, "Round " + played.round));
    var cols = columns(played.results || []);
    if (played.round === 1 && s.host_answer != null) {
      var host = el("article", { className: "col answer host", dataset: { ai: "host" } },
        el("header", null, el("h3", { className: "ai-name" }, "host"), el("span", { className: "badge host" }, "your answer")));
      var box = el("div", { className: "text md" });
      fillText(box, s.host_answer);
      host.appendChild(box);
      cols.appendChild(host);
    }
    section.appendChild(cols);
    root.appendChild(section);
  });
  if (s.summary) {
    root.appendChild(el("section", { id: "summary" }, el("h2", null, "Summary (by " + cleanText(s.summary.ai) + ")"), el("div", { className: "cols" }, aiColumn(s.summary))));
  }
}

function sameResult(a, b) {
  return !!a && !!b && a.ai === b.ai && a.text === b.text && a.latency_s === b.latency_s;
}

function renderSolve(root, s) {
  var all = s.proposals.slice();
  var separate = s.solution && !s.proposals.some(function (p) { return sameResult(p, s.solution); });
  if (separate) all.push(s.solution);
  root.appendChild(answersHead("Solve: " + cleanText(s.problem), cleanText(s.approach) + " · " + costSummary(s, all)));
  var solution = el("section", { id: "solution" }, el("h2", null, s.solution ? "Solution (by " + cleanText(s.solved_by || s.solution.ai) + ")" : "No solution"));
  if (s.solution) solution.appendChild(el("div", { className: "cols" }, aiColumn(s.solution)));
  root.appendChild(solution);
  var rest = s.proposals.filter(function (p) { return !sameResult(p, s.solution); });
  root.appendChild(el("section", { id: "answers" }, el("h2", null, s.approach === "sequential" ? "Steps" : "Proposals"), columns(rest)));
}

function renderPanel(root, structured, meta) {
  applyTheme(meta && meta.theme);
  if (structured && structured.method === "council" && typeof renderCouncil === "function") return renderCouncil(root, structured, meta);
  return renderAnswers(root, structured, meta);
}
