// A test-only panel (not one of tools/panels/static): each answer as text in a column, what the bridge passed
// as data attributes, the result's _meta as text. It uses textContent only, as the real panels must.
function renderPanel(root, structured, meta) {
  var answers = structured.results || structured.answers || [];
  var columns = document.createElement("div");
  columns.style.cssText = "display:flex;gap:8px;max-width:100%";
  answers.forEach(function (answer) {
    var column = document.createElement("section");
    column.className = "column";
    column.style.cssText = "flex:1;min-width:0;overflow-wrap:anywhere;white-space:pre-wrap;max-height:300px;overflow:auto";
    var name = document.createElement("h2");
    name.textContent = answer.ai;
    var text = document.createElement("p");
    text.textContent = answer.ok ? answer.text : "failed: " + answer.error_kind;
    column.append(name, text);
    columns.append(column);
  });
  var seen = document.createElement("pre");
  seen.id = "seen";
  seen.hidden = true;
  seen.textContent = JSON.stringify({
    toolName: meta.toolName, toolInput: meta.toolInput, resultMeta: meta.resultMeta, theme: meta.theme,
    cost: structured.total_cost_usd,
  });
  root.replaceChildren(columns, seen);
}
