/* The app side of MCP Apps (io.modelcontextprotocol/ui, protocol 2026-01-26), by hand: the official App
 * class needs the MCP SDK and zod (540 KB), and a panel is at most 60 KB. JSON-RPC 2.0 over postMessage
 * with the host (window.parent):
 *   app -> host: ui/initialize (request), ui/notifications/initialized, ui/notifications/size-changed
 *   host -> app: ui/notifications/tool-input, ui/notifications/tool-result (-> renderPanel),
 *                ui/notifications/host-context-changed (theme, CSS variables), ui/notifications/tool-cancelled,
 *                ui/resource-teardown (request), ping (request)
 * Standalone (no parent window, or the page carries #junior-data: /dashboard), it renders that data itself.
 * The panel's script defines renderPanel(root, structured, meta); the council panel also renderAnswers,
 * for ai_consensus's votes. Each render is measured as "junior:render" (performance.measure). */
(function () {
  "use strict";
  var PROTOCOL = "2026-01-26";
  var root = document.getElementById("app");
  var host = window.parent !== window ? window.parent : null;
  var state = { toolName: null, toolInput: null, theme: null };  // theme null: the system's
  var pending = {};
  var nextId = 1;
  var lastSize = "";

  function send(message) {
    message.jsonrpc = "2.0";
    if (host) host.postMessage(message, "*");
  }

  function request(method, params, then) {
    var id = nextId++;
    pending[id] = then;
    send({ id: id, method: method, params: params });
  }

  function notify(method, params) {
    send({ method: method, params: params || {} });
  }

  function applyContext(context) {
    if (!context || typeof context !== "object") return;
    if (context.theme === "light" || context.theme === "dark") state.theme = context.theme;
    var html = document.documentElement;
    if (state.theme) {
      html.setAttribute("data-theme", state.theme);
      html.style.colorScheme = state.theme;
    }
    var variables = context.styles && context.styles.variables;
    if (variables && typeof variables === "object") {
      Object.keys(variables).forEach(function (name) {
        // Only CSS custom properties, so a host's context cannot restyle anything else.
        if (/^--[a-z0-9-]+$/.test(name) && typeof variables[name] === "string") {
          html.style.setProperty(name, variables[name]);
        }
      });
    }
    var info = context.toolInfo;
    if (info && info.tool && typeof info.tool.name === "string") state.toolName = info.tool.name;
  }

  function textOf(result) {
    return (result.content || [])
      .filter(function (block) { return block && block.type === "text"; })
      .map(function (block) { return String(block.text); })
      .join("\n");
  }

  function render(result) {
    var started = performance.now();
    var structured = result.structuredContent || null;
    var meta = {
      toolName: state.toolName,
      toolInput: state.toolInput,
      resultMeta: result._meta || null,
      theme: state.theme,
    };
    try {
      if (structured === null) {
        root.textContent = textOf(result);  // a tool error: its text is all there is
      } else if (typeof renderAnswers === "function" && structured.method !== "council") {
        renderAnswers(root, structured, meta);  // the council panel showing ai_consensus's votes
      } else {
        renderPanel(root, structured, meta);
      }
    } catch (error) {
      root.textContent = "This panel could not show the result (" + String(error && error.message) + ").";
    }
    root.setAttribute("data-rendered", String(Number(root.getAttribute("data-rendered") || 0) + 1));
    performance.measure("junior:render", { start: started });
    sizeChanged();
  }

  function sizeChanged() {
    if (!host) return;
    var html = document.documentElement;
    var kept = html.style.height;
    html.style.height = "max-content";  // the content's height, not the iframe's
    var height = Math.ceil(html.getBoundingClientRect().height);
    html.style.height = kept;
    var width = Math.ceil(window.innerWidth);
    var size = width + "x" + height;
    if (size === lastSize) return;
    lastSize = size;
    notify("ui/notifications/size-changed", { width: width, height: height });
  }

  var handlers = {
    "ui/notifications/tool-input": function (params) { state.toolInput = params.arguments || null; },
    "ui/notifications/tool-result": function (params) { render(params); },
    "ui/notifications/host-context-changed": function (params) { applyContext(params); },
    "ui/notifications/tool-cancelled": function (params) {
      root.textContent = "Cancelled" + (params.reason ? ": " + String(params.reason) : ".");
    },
  };

  function receive(event) {
    var message = event.data;
    if (event.source !== host || !message || message.jsonrpc !== "2.0") return;
    if (message.method === undefined && message.id !== undefined) {
      var then = pending[message.id];
      delete pending[message.id];
      if (then && message.result) then(message.result);
      return;
    }
    if (message.id !== undefined) {  // requests from the host: teardown and ping need only an answer
      var known = message.method === "ui/resource-teardown" || message.method === "ping";
      send(known ? { id: message.id, result: {} }
                 : { id: message.id, error: { code: -32601, message: "Method not found: " + message.method } });
      return;
    }
    var handle = handlers[message.method];
    if (handle) handle(message.params || {});
  }

  var data = document.getElementById("junior-data");
  if (!host || data) {
    // No host to say a theme: the page follows the system's preference, live (theme.css), so none is pinned.
    // After every script of the page has run: the panel's renderPanel may come after this one.
    if (data) document.addEventListener("DOMContentLoaded", function () {
      // A tool result ({structuredContent, _meta}, as /dashboard embeds it), or structured content alone.
      var given = JSON.parse(data.textContent);
      render(given && given.structuredContent !== undefined ? given : { structuredContent: given });
    });
    return;
  }
  window.addEventListener("message", receive);
  if (typeof ResizeObserver === "function") new ResizeObserver(sizeChanged).observe(document.documentElement);
  request("ui/initialize", {
    appInfo: { name: "junior-ai-panel", version: "1" },
    appCapabilities: {},
    protocolVersion: PROTOCOL,
  }, function (result) {
    applyContext(result.hostContext);
    notify("ui/notifications/initialized");
    sizeChanged();
  });
})();
