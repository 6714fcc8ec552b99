// The panel's page: a fixed shell with no data in it (the data arrives by postMessage and is set
// with textContent), scripts allowed only by nonce, nothing loaded from outside the extension.
import { randomBytes } from "node:crypto";

export interface PanelAssets {
  /** webview.cspSource */
  cspSource: string;
  /** webview.asWebviewUri of media/panel.js and media/panel.css, as strings. */
  script: string;
  style: string;
}

export const newNonce = (): string => randomBytes(18).toString("base64");

export function panelHtml(assets: PanelAssets, nonce: string): string {
  const csp = `default-src 'none'; style-src ${assets.cspSource}; script-src 'nonce-${nonce}';`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${assets.style}">
<title>Retrieved nodes</title>
</head>
<body>
<main id="panel"></main>
<script nonce="${nonce}" src="${assets.script}"></script>
</body>
</html>
`;
}
