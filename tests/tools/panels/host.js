// The test host's side of MCP Apps: the official AppBridge from @modelcontextprotocol/ext-apps, bundled for
// the browser by esbuild (tests/browser.py). It embeds a panel the way a host does: a sandboxed iframe
// (scripts only, an opaque origin), the HTML from resources/read as its document, and the bridge feeding it
// the tool's input and result.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

// What hosts allow a panel that declares no domains: inline script and style, data: images, no network.
const CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:; " +
  "media-src data:; connect-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'";

function withCsp(html) {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${CSP}">`;
  return html.replace(/<head>/i, `<head>${meta}`);
}

window.junior = {
  sizes: [],
  bridge: null,
  // Show `html` as the panel of tool `tool` (a Tool: name, inputSchema...), then send it `input` and `result`.
  async show({ html, tool, input, result, theme, width, csp }) {
    const iframe = document.createElement("iframe");
    iframe.id = "panel";
    iframe.setAttribute("sandbox", "allow-scripts");
    iframe.style.cssText = `width:${width}px;height:200px;border:0;display:block`;
    document.body.replaceChildren(iframe);
    this.context = { theme, toolInfo: { tool }, displayMode: "inline", containerDimensions: { maxWidth: width } };
    const bridge = new AppBridge(
      null,
      { name: "junior-test-host", version: "1.0.0" },
      { openLinks: {}, logging: {} },
      { hostContext: this.context },
    );
    this.bridge = bridge;
    this.sizes = [];
    bridge.onsizechange = (size) => {
      this.sizes.push(size);
      if (size.height) iframe.style.height = `${size.height}px`;
    };
    const initialized = new Promise((resolve) => (bridge.oninitialized = resolve));
    await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
    iframe.srcdoc = csp ? withCsp(html) : html;
    await initialized;
    await bridge.sendToolInput({ arguments: input });
    await bridge.sendToolResult(result);
  },
  async theme(theme) {
    this.context = { ...this.context, theme };
    this.bridge.setHostContext(this.context);
  },
  async teardown() {
    return await this.bridge.teardownResource({});
  },
};
