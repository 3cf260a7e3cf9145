// The patients screen: being built (issue 4).
import { html } from "../lib/html.js";

export default function Screen() {
  return html`<div class="page"><div class="page-head"><h1>patients</h1></div><p class="muted">This screen is being built.</p></div>`;
}
